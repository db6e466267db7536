"""The built wheel is a working ParkLink: installed into a fresh virtualenv and run from a
directory outside the checkout, `parklink --version`, `parklink kafka up` and
`parklink up --no-simulator --detach` work, and `down` leaves no process and no port behind.

The wheel is built from this checkout without build isolation. Its dependencies are not
downloaded again: the fresh virtualenv sees the project venv's site-packages through a `.pth`
line, which adds them to `sys.path` after the venv's own site-packages (so the installed wheel,
not the checkout, is what runs; the test asserts it)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from conftest import broker_unavailable
from deploy.checkers import BUILD_INPUTS

from parklink.eventkit.lifecycle import free_port, free_port_pair, pid_alive, port_open

pytestmark = pytest.mark.broker

CHECKOUT = Path(__file__).resolve().parents[2]
BUNDLED = [
    "parklink/data/schemas/topics.toml",
    "parklink/data/schemas/OrderEvent.avsc",
    "parklink/data/schemas/ShipmentEvent.avsc",
    "parklink/data/schemas/CapacityEvent.avsc",
    "parklink/data/schemas/DisruptionAlert.avsc",
    "parklink/data/deploy/kafka/pom.xml",
    "parklink/data/deploy/kafka/server.properties.template",
    "parklink/data/deploy/kafka/log4j2.properties",
]


@dataclass(frozen=True)
class Installed:
    wheel: Path
    bin: Path
    workdir: Path

    def run(
        self, env: dict[str, str], *args: str, timeout: float = 240
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / "parklink"), *args],
            cwd=self.workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def python(self, code: str) -> str:
        out = subprocess.run(
            [str(self.bin / "python"), "-c", code],
            cwd=self.workdir,
            env=clean_env(self),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return out.stdout.strip()


def clean_env(installed: Installed, **settings: str) -> dict[str, str]:
    """The environment of a user's shell: no ParkLink settings but the jar cache, no checkout
    on the path, the fresh venv's bin first."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PARKLINK_") and k not in {"PYTHONPATH", "VIRTUAL_ENV"}
    }
    if "PARKLINK_CACHE_DIR" in os.environ:
        env["PARKLINK_CACHE_DIR"] = os.environ["PARKLINK_CACHE_DIR"]
    env["PATH"] = f"{installed.bin}{os.pathsep}{os.environ.get('PATH', '')}"
    return {**env, **settings}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    root = tmp_path_factory.mktemp("package")
    dist = root / "dist"
    # Built from a copy of exactly what the image's build context holds (.dockerignore), so the
    # test also proves those inputs are enough, and no stale build/ of the checkout leaks in.
    source = root / "source"
    for name in BUILD_INPUTS:
        origin = CHECKOUT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(origin, source / name)
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(dist),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    (wheel,) = dist.glob("parklink-*.whl")
    env_dir = root / "venv"
    # No pip of its own (ensurepip takes up to a minute on a busy machine): the project's pip
    # installs into it, run by the fresh venv's interpreter (`pip --python`).
    venv.create(env_dir, with_pip=False)
    bin_dir = env_dir / "bin"
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(bin_dir / "python"),
            "install",
            "--quiet",
            "--no-index",
            "--no-deps",
            "--find-links",
            str(dist),
            "parklink",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    site = Path(
        subprocess.run(
            [
                str(bin_dir / "python"),
                "-c",
                "import sysconfig; print(sysconfig.get_path('purelib'))",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    (site / "project-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    workdir = root / "elsewhere"
    workdir.mkdir()
    yield Installed(wheel=wheel, bin=bin_dir, workdir=workdir)
    shutil.rmtree(root, ignore_errors=True)


def test_the_wheel_carries_schemas_catalog_and_kafka_recipe(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as whl:
        names = set(whl.namelist())
    assert [n for n in BUNDLED if n not in names] == []
    with zipfile.ZipFile(installed.wheel) as whl:
        bundled = whl.read("parklink/data/schemas/topics.toml")
    assert bundled == (CHECKOUT / "schemas" / "topics.toml").read_bytes()


def test_the_installed_package_reads_its_own_files(installed: Installed) -> None:
    found = json.loads(
        installed.python(
            "import json, parklink\n"
            "from parklink.eventkit import paths\n"
            "from parklink.eventkit.catalog import load_catalog\n"
            "print(json.dumps({'package': parklink.__file__, 'schemas': str(paths.SCHEMAS_DIR),"
            " 'deploy': str(paths.DEPLOY_DIR), 'topics': sorted(load_catalog().topics)}))"
        )
    )
    venv_dir = str(installed.bin.parent)
    assert found["package"].startswith(venv_dir)
    assert found["schemas"].startswith(venv_dir)
    assert found["deploy"].startswith(venv_dir)
    assert not found["schemas"].startswith(str(CHECKOUT))
    assert found["topics"] == ["alerts", "capacity", "dlq", "orders", "shipments"]


def test_version_kafka_up_and_network_up_outside_the_checkout(installed: Installed) -> None:
    if shutil.which("java") is None:
        broker_unavailable("Java is not installed")
    version = installed.run(clean_env(installed), "--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"parklink {installed.wheel.name.split('-')[1]}"

    ports = {
        "PARKLINK_REGISTRY_PORT": free_port(),
        "PARKLINK_GATEWAY_PORT": free_port(),
        "PARKLINK_DETECTOR_PORT": free_port(),
        "PARKLINK_CONSOLE_PORT": free_port(),
        "PARKLINK_SIMULATOR_PORT": free_port(),
        "PARKLINK_RELAY_PORT": free_port(),
    }
    base = free_port_pair()
    # No PARKLINK_STATE_DIR: the default `.parklink/` in the working directory.
    env = clean_env(
        installed,
        PARKLINK_KAFKA_BASE_PORT=str(base),
        **{k: str(v) for k, v in ports.items()},
    )
    state = installed.workdir / ".parklink"
    pids: list[int] = []
    kafka = installed.run(env, "kafka", "up")
    try:
        assert kafka.returncode == 0, kafka.stdout + kafka.stderr
        assert port_open(base)
        up = installed.run(env, "up", "--no-simulator", "--detach", timeout=300)
        try:
            assert up.returncode == 0, up.stdout + up.stderr
            pids = [p["pid"] for p in json.loads((state / "run.json").read_text())["parts"]]
            for name in ("REGISTRY", "GATEWAY", "DETECTOR", "CONSOLE"):
                url = f"http://127.0.0.1:{ports[f'PARKLINK_{name}_PORT']}/readyz"
                assert httpx.get(url, timeout=5).status_code == 200, url
            assert not port_open(ports["PARKLINK_SIMULATOR_PORT"])
        finally:
            down = installed.run(env, "down")
        assert down.returncode == 0, down.stdout + down.stderr
    finally:
        kafka_down = installed.run(env, "kafka", "down")
    assert kafka_down.returncode == 0, kafka_down.stdout + kafka_down.stderr
    assert [pid for pid in pids if pid_alive(pid)] == []
    assert [p for p in [base, *ports.values()] if port_open(p)] == []
    assert (state / "kafka").is_dir()
