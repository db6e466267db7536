"""What the registry's OpenAPI document says of its requests and answers: the bodies it takes
(it reads them itself, whatever their content type, see `app._body`) and every error it
answers, so that the document describes the server's real behaviour."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from parklink.registry.compatibility import Level

AVRO_SCHEMA_FORMAT = "avro-schema"
"""A schema's text in the document: a valid Avro schema in its JSON form."""
CONTENT_TYPES = ("application/vnd.schemaregistry.v1+json", "application/json")
VERSION_PATTERN = r"^(latest|-1|[1-9][0-9]{0,8})$"
"""A version path segment the registry reads (it takes numbers up to 2^31-1)."""
ID_PATTERN = r"^[1-9][0-9]{0,8}$"


class ErrorOut(BaseModel):
    error_code: int = Field(description="Confluent error code, e.g. 40401, 42201.")
    message: str


class SchemaIn(BaseModel):
    schema_: str = Field(
        alias="schema",
        min_length=1,
        json_schema_extra={"format": AVRO_SCHEMA_FORMAT},
        description="The Avro schema (JSON text).",
    )
    schemaType: Literal["AVRO"] = "AVRO"
    references: list[Any] = Field(default_factory=list, max_length=0, description="Unsupported.")


class LevelIn(BaseModel):
    compatibility: Level


MEANING = {
    401: "Credentials needed (or wrong).",
    403: "The caller's role may not do this.",
    404: "Subject, version, schema or setting not found.",
    409: "The schema is incompatible with the subject's earlier ones.",
    413: "The body is larger than the limit.",
    422: "The body, version or level is not valid.",
    503: "The registry is replaying its store (not ready yet).",
}
"""Every error status the registry answers, each with the Confluent error body."""


def answers(*extra: int) -> dict[int | str, dict[str, Any]]:
    """The responses of a route: the errors every route may answer (401, 403, 503) and
    `extra`."""
    return {
        s: {"model": ErrorOut, "description": MEANING[s]} for s in sorted({401, 403, 503, *extra})
    }


def body_of(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` declaring the JSON body the route reads itself."""
    schema = model.model_json_schema(by_alias=True)
    return {
        "requestBody": {
            "required": True,
            "content": {ct: {"schema": schema} for ct in CONTENT_TYPES},
        }
    }
