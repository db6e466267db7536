"""The bodies of the console's API: what clients send and what every route returns, so that
the OpenAPI document describes the server's real answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Self
from urllib.parse import urlsplit

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from parklink.console.matching import NO_NUL, Matchers
from parklink.eventkit.contracts import AlertStatus, Severity
from parklink.eventkit.web import ErrorBody

Stamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
"""A UTC time in ISO 8601, as stored."""


WEBHOOK_URL_FORMAT = "parklink-webhook-url"
"""The format of a webhook's URL in the document: which hosts it may name is the console's
setting and the hosts' addresses, which no JSON Schema can state."""
LATEST = datetime(9999, 12, 30, tzinfo=UTC)
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)

# PostgreSQL text cannot hold NUL (SQLite can): refused here instead of failing with 500.
StoredText = Annotated[str, StringConstraints(pattern=NO_NUL)]
"""Free text stored in a text column."""


# -- errors ----------------------------------------------------------------------------------


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the given error statuses, all with the JSON error body."""
    meaning = {
        400: "The body is not valid JSON.",
        401: "No token, or an unknown, expired or revoked one.",
        403: "The token's role may not do this.",
        404: "Not found (or not visible to this token).",
        409: "Conflicts with the current state.",
        422: "A field or query parameter is not valid.",
    }
    return {s: {"model": ErrorBody, "description": meaning[s]} for s in statuses}


# -- alerts ----------------------------------------------------------------------------------


class AckOut(BaseModel):
    ack_id: int | None
    alert_id: str
    by: str
    at: Stamp
    comment: str


class AlertOut(BaseModel):
    """An alert's current state as the list and the stream show it."""

    alert_id: str
    type: str
    severity: Severity
    status: AlertStatus
    subject: str
    parks: list[str]
    impacted_orders: list[str]
    impacted_shipments: list[str]
    summary: str
    evidence: list[str]
    metrics: dict[str, float]
    started_at: Stamp
    updated_at: Stamp
    resolved_at: Stamp | None
    corridor: str | None
    received_at: Stamp = Field(description="When the console read this state.")
    acknowledged: bool = Field(description="Acknowledged since its last change.")
    last_ack: AckOut | None
    silenced_by: str | None = Field(description="Id of the active silence that covers it.")


class HistoryEntry(BaseModel):
    status: AlertStatus
    severity: Severity
    updated_at: Stamp
    received_at: Stamp
    summary: str
    metrics: dict[str, float]
    impacted_orders: int = Field(description="How many orders it named.")
    impacted_shipments: int


class AlertDetail(AlertOut):
    history: list[HistoryEntry] = Field(description="Every state seen, oldest first.")
    acks: list[AckOut]


class AlertPage(BaseModel):
    items: list[AlertOut]
    total: int = Field(description="Alerts matching the filters, over all pages.")
    next_cursor: str | None
    next: str | None = Field(description="Path and query of the next page.")
    last_event_id: int = Field(
        description="The stream's last event id before this page was read: open the stream "
        "with `Last-Event-ID` (or `?last_event_id=`) set to it to receive every later update."
    )


class Bucket(BaseModel):
    start: Stamp
    counts: dict[Severity, int]


class Timeline(BaseModel):
    start: Stamp
    end: Stamp
    buckets: list[Bucket]


class AckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    comment: StoredText = Field("", max_length=2000)


# -- silences --------------------------------------------------------------------------------


class SilenceMatchers(Matchers):
    """At least one matcher: a silence of every alert is not one."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})


class SilenceIn(BaseModel):
    """Give either `expires_at` or `duration_minutes`. At least one matcher. A time in the
    past makes a silence that is already over (`active: false`); times beyond the year 9999
    are taken as its end."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [{"required": ["expires_at"]}, {"required": ["duration_minutes"]}]
        },
    )
    matchers: SilenceMatchers
    expires_at: AwareDatetime | SkipJsonSchema[None] = None
    duration_minutes: Annotated[int, Field(ge=1, le=60 * 24 * 90)] | SkipJsonSchema[None] = None
    comment: StoredText = Field("", max_length=2000)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.matchers.is_empty():
            raise ValueError(
                "matchers: give at least one of alert_id, type, park, corridor, severity"
            )
        if (self.expires_at is None) == (self.duration_minutes is None):
            raise ValueError("give exactly one of expires_at and duration_minutes")
        return self

    def expiry(self, now: datetime) -> datetime:
        if self.expires_at is not None:
            try:
                return self.expires_at.astimezone(UTC)
            except OverflowError:  # its UTC form is outside the years datetime holds
                return LATEST if self.expires_at.year > 1970 else EARLIEST
        return now + timedelta(minutes=self.duration_minutes or 0)


class SilenceOut(BaseModel):
    silence_id: str
    matchers: Matchers
    expires_at: Stamp
    comment: str
    created_by: str
    created_at: Stamp
    active: bool

    @field_serializer("matchers")
    def _given(self, matchers: Matchers) -> dict[str, Any]:
        return matchers.model_dump(mode="json", exclude_none=True)


class SilenceList(BaseModel):
    items: list[SilenceOut]


# -- webhooks --------------------------------------------------------------------------------


class WebhookIn(BaseModel):
    """A subscription: every new state of a matching alert is POSTed to `url`."""

    model_config = ConfigDict(extra="forbid")
    url: StoredText = Field(
        ...,
        max_length=2000,
        examples=["https://erp.example/parklink/alerts"],
        description="An https URL whose host resolves to public addresses only (http and "
        "private addresses only for targets on the console's allow-list); without user or "
        "password.",
        json_schema_extra={"format": WEBHOOK_URL_FORMAT},
    )
    secret: StoredText | None = Field(
        None, min_length=16, max_length=200, description="HMAC key; generated when omitted."
    )
    matchers: Matchers = Field(default_factory=Matchers)
    description: StoredText = Field("", max_length=500)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
            raise ValueError("must be an https:// URL with a host")
        if parts.username is not None or parts.password is not None:
            raise ValueError("must not carry credentials (sign with the secret instead)")
        return value


class WebhookOut(BaseModel):
    webhook_id: str
    url: str
    matchers: Matchers
    description: str
    created_by: str
    created_at: Stamp
    park: str | None = Field(
        description="Set for a park operator's subscription: only alerts naming this park."
    )

    @field_serializer("matchers")
    def _given(self, matchers: Matchers) -> dict[str, Any]:
        return matchers.model_dump(mode="json", exclude_none=True)


class WebhookCreated(WebhookOut):
    secret: str = Field(description="The HMAC key; shown only in this answer.")


class WebhookList(BaseModel):
    items: list[WebhookOut]


class DeliveryOut(BaseModel):
    delivery_id: str
    webhook_id: str
    alert_id: str
    event: str = Field(examples=["alert.firing"])
    status: str = Field(description="pending, delivered or failed")
    attempts: int
    next_attempt_at: Stamp | None
    last_status_code: int | None
    last_error: str | None
    created_at: Stamp
    delivered_at: Stamp | None


class DeliveryList(BaseModel):
    items: list[DeliveryOut]


# -- who am I, audit -------------------------------------------------------------------------


class Grants(BaseModel):
    read: bool
    acknowledge: bool
    silence: bool
    webhooks: bool
    audit: bool


class MeOut(BaseModel):
    """The caller's token: whom it belongs to and what it may do."""

    name: str
    role: str = Field(examples=["operator", "park-operator", "viewer"])
    park: str | None = Field(description="The one park a park operator's token sees.")
    expires_at: Stamp | None
    may: Grants


class AuditEntry(BaseModel):
    at: Stamp
    actor: str = Field(description="Name of the token (or `cli:<user>` for the command line).")
    role: str
    action: str = Field(examples=["alert.ack", "silence.create", "webhook.delete", "token.revoke"])
    target: str = Field(description="Alert, silence, webhook or token id.")
    details: dict[str, Any]


class AuditList(BaseModel):
    items: list[AuditEntry]
