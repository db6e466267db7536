"""`python -m parklink.orchestrator.watchdog`, started by a foreground `parklink up` with a
pipe on stdin: when the supervisor ends, however it ends, the pipe closes and the watchdog
stops whatever the run file still lists, as `parklink down` does (the parts also get SIGTERM
from their parent-death guard; Kafka, which the local runner starts, has no such guard)."""

from __future__ import annotations

import sys

from parklink.eventkit import service
from parklink.orchestrator.config import OrchestratorSettings


def main() -> None:
    sys.stdin.buffer.read()  # until EOF: the supervisor is gone

    from parklink.orchestrator.app import down

    service.main(OrchestratorSettings, down)


if __name__ == "__main__":
    main()
