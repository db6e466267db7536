"""Matchers that pick alerts out, shared by silences and webhook subscriptions. Pure logic."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Annotated, Protocol

from pydantic import BaseModel, ConfigDict, StringConstraints
from pydantic.json_schema import SkipJsonSchema

from parklink.eventkit.contracts import Severity


class AlertFacts(Protocol):
    """What matching looks at; a DisruptionAlert has all of it."""

    @property
    def alert_id(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def severity(self) -> Severity: ...
    @property
    def corridor(self) -> str | None: ...
    @property
    def parks(self) -> Sequence[str]: ...


NO_NUL = r"^[^\x00]*$"
"""Text a database column can hold (PostgreSQL's cannot hold NUL)."""


AlertId = Annotated[str, StringConstraints(min_length=1, max_length=300, pattern=NO_NUL)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=NO_NUL)]


class Matchers(BaseModel):
    """Every given field must match (AND); `park` matches when the alert names that park.
    An empty set of matchers matches every alert."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # A matcher left out or null is not given (the document shows only the string form).
    alert_id: AlertId | SkipJsonSchema[None] = None
    type: (
        Annotated[str, StringConstraints(max_length=300, pattern=r"^[A-Z][A-Z_]*$")]
        | (SkipJsonSchema[None])
    ) = None
    park: Name | SkipJsonSchema[None] = None
    corridor: Name | SkipJsonSchema[None] = None
    severity: Severity | SkipJsonSchema[None] = None

    def is_empty(self) -> bool:
        return not self.model_dump(exclude_none=True)

    def matches(self, alert: AlertFacts) -> bool:
        return (
            (self.alert_id is None or alert.alert_id == self.alert_id)
            and (self.type is None or alert.type == self.type)
            and (self.severity is None or alert.severity == self.severity)
            and (self.corridor is None or alert.corridor == self.corridor)
            and (self.park is None or self.park in alert.parks)
        )


class Silence(BaseModel):
    model_config = ConfigDict(frozen=True)

    silence_id: str
    matchers: Matchers
    expires_at: datetime
    comment: str
    created_by: str
    created_at: datetime

    def active(self, now: datetime) -> bool:
        return now < self.expires_at


def silenced_by(silences: Iterable[Silence], alert: AlertFacts, now: datetime) -> Silence | None:
    """The first active silence that covers `alert`, if any."""
    for silence in silences:
        if silence.active(now) and silence.matchers.matches(alert):
            return silence
    return None
