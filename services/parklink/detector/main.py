"""Start a detector worker: validate settings and thresholds, wait for the registry, run
faust until SIGTERM/SIGINT."""

from __future__ import annotations

import gc
import logging
import sys
import time

from parklink.detector.config import DetectorSettings
from parklink.detector.thresholds import load_thresholds
from parklink.eventkit import service
from parklink.eventkit.errors import ParkLinkError
from parklink.eventkit.lag import LagMetric, in_topics
from parklink.eventkit.registry_client import RegistryClient

log = logging.getLogger(__name__)

USAGE = (
    "usage: python -m parklink.detector (or `parklink detector`): runs a detector worker in "
    "the foreground; every setting comes from PARKLINK_* variables (see `parklink detector "
    "--help`)."
)


def _wait_for_registry(client: RegistryClient, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            client.ping()
            return
        except ParkLinkError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.5)


def tune_gc(threshold: int) -> None:
    """Python's cycle collector for a worker that holds its tables in memory. What the start
    made (modules, the faust app, the codecs) is frozen out of every later collection
    (`gc.freeze`), and the youngest generation is collected every `threshold` allocations
    instead of every 700: at 700 a collection ran every few records, and the older
    generations, reached from it, walk the whole state. The older generations keep Python's
    ratios (a middle collection every 10 young ones, a full one every 10 middle ones once
    the state grew by a quarter), so cyclic garbage is still collected, in larger rounds."""
    gc.freeze()
    gc.set_threshold(threshold, 10, 10)


def run(settings: DetectorSettings) -> int:
    import faust

    from parklink.detector.app import Detector

    limits = load_thresholds(settings.detector_config)
    registry = RegistryClient(settings.registry_url)
    _wait_for_registry(registry)
    detector = Detector(settings, limits, registry)
    detector.alert_codec.serializer.header  # noqa: B018  register the alert schema now
    detector.create_topics()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    log.info(
        "detector %s on %s, web http://%s:%d",
        settings.detector_group,
        settings.kafka_bootstrap,
        settings.detector_host,
        settings.detector_port,
    )
    tune_gc(settings.detector_gc_threshold)
    # faust handles SIGTERM/SIGINT itself: it stops the agents, commits and flushes.
    worker = faust.Worker(
        detector.app,
        loglevel=settings.log_level,
        quiet=True,
        override_logging=False,
    )
    # The group's lag as the broker sees it, on every topic the worker commits on.
    lag = LagMetric(
        detector.metrics_registry,
        settings.bootstrap_servers,
        settings.detector_group,
        in_topics(detector.runtime.topics),
    )
    lag.start()
    try:
        worker.execute_from_commandline()
    finally:
        lag.stop()
        registry.close()
        # Everything is stopped, committed and flushed: the interpreter's last garbage
        # collection over faust's object graph took seconds of the stop on a busy machine.
        gc.freeze()
    return 0


def main() -> None:
    """`python -m parklink.detector`: the same as `parklink detector`."""
    if sys.argv[1:] in (["-h"], ["--help"]):
        print(USAGE)
        sys.exit(0)
    if len(sys.argv) > 1:
        print(USAGE, file=sys.stderr)
        sys.exit(2)
    service.main(DetectorSettings, run)
