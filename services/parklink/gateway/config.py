"""Settings of the HTTP gateway (`PARKLINK_GATEWAY_*`, plus the shared ones)."""

from __future__ import annotations

from pydantic import Field, model_validator

from parklink.eventkit.settings import Settings


class GatewaySettings(Settings):
    gateway_host: str = Field("127.0.0.1", min_length=1)
    gateway_port: int = Field(8000, ge=0, le=65535)
    gateway_max_body_bytes: int = Field(
        10 * 1024 * 1024, ge=1024, description="Larger request bodies get 413 unread."
    )
    gateway_max_batch: int = Field(10_000, ge=1, description="Most events in one request.")
    gateway_rate_per_s: float = Field(
        20_000.0, gt=0, description="Events per second each park may send, sustained."
    )
    gateway_rate_burst: int = Field(
        100_000, ge=1, description="Events a park may send at once before the rate applies."
    )
    gateway_produce_timeout_s: float = Field(
        10.0, ge=2, le=300, description="How long Kafka may take to acknowledge a request."
    )

    gateway_graceful_s: float = Field(
        30.0,
        ge=1,
        le=600,
        description="How long requests in flight may take to finish when the gateway stops.",
    )

    @model_validator(mode="after")
    def _burst_fits_batch(self) -> GatewaySettings:
        if self.gateway_rate_burst < self.gateway_max_batch:
            raise ValueError(
                "gateway_rate_burst must be >= gateway_max_batch, or a full batch could never pass"
            )
        return self
