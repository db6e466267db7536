"""`parklink detector`: run a detector worker in the foreground."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "detector",
        help="run a disruption-detector worker (faust) in the foreground",
        description="Consumes the park topics, raises DisruptionAlerts on the alerts topic and "
        "sets undecodable records aside on the DLQ. Workers with the same "
        "PARKLINK_DETECTOR_GROUP share the work. Health and /metrics on "
        "PARKLINK_DETECTOR_HOST:PARKLINK_DETECTOR_PORT (127.0.0.1:6066). Thresholds from "
        "PARKLINK_DETECTOR_CONFIG (TOML) and PARKLINK_* variables.",
    )
    parser.set_defaults(handler=_run)


def _run(_args: argparse.Namespace) -> int:
    from parklink.detector.config import DetectorSettings
    from parklink.detector.main import run
    from parklink.eventkit import service

    return service.run(DetectorSettings, run)
