"""Every `PARKLINK_*` variable the deploy files set is a setting some service reads.

Settings ignore variables they do not know (so one environment can serve every service), which
means a misspelt name in compose or Kubernetes is silently dropped: a service would log in to
Kafka with the wrong user, or without its password. This test is what catches it."""

from __future__ import annotations

import re

from deploy.checkers import DEPLOY

from parklink.console.config import ConsoleSettings
from parklink.detector.config import DetectorSettings
from parklink.eventkit.settings import ENV_PREFIX
from parklink.gateway.config import GatewaySettings
from parklink.kafkalocal.config import KafkaLocalSettings
from parklink.orchestrator.config import OrchestratorSettings
from parklink.registry.config import RegistrySettings
from parklink.relay.config import RelaySettings
from parklink.simulator.config import SimulatorSettings

SETTINGS = (
    ConsoleSettings,
    DetectorSettings,
    GatewaySettings,
    KafkaLocalSettings,
    OrchestratorSettings,
    RegistrySettings,
    RelaySettings,
    SimulatorSettings,
)
FILES = sorted(
    p
    for p in DEPLOY.rglob("*")
    if p.is_file() and p.suffix in {".yaml", ".yml", ".sh", ".env"} and "tools" not in p.parts
)
NAME = re.compile(r"\b(PARKLINK_[A-Z0-9_]+)\b")


def known() -> set[str]:
    return {f"{ENV_PREFIX}{field}".upper() for s in SETTINGS for field in s.model_fields}


def test_deploy_files_set_only_real_settings() -> None:
    names = known()
    unknown = {
        f"{path.relative_to(DEPLOY)}: {found}"
        for path in FILES
        for found in NAME.findall(path.read_text())
        if found not in names
    }
    assert FILES, "no deploy files found"
    assert not unknown, sorted(unknown)


def test_the_check_sees_the_kafka_login_settings() -> None:
    # The names a deployed service logs in to Kafka with are among the known ones (the test
    # above would pass on an empty set otherwise).
    assert {"PARKLINK_KAFKA_USER", "PARKLINK_KAFKA_PASSWORD", "PARKLINK_KAFKA_CA_FILE"} <= known()
