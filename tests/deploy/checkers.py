"""The checkers of deploy/, as `deploy/tools/install.sh` (`make deploy-tools`) installs them under
PARKLINK_TOOLS_DIR (default ~/.cache/parklink/tools). A missing tool fails the test in CI and
skips it elsewhere, with the command that installs it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[2]
DEPLOY = CHECKOUT / "deploy"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
KUBERNETES_VERSION = "1.34.0"  # deploy/tools/install.sh's KUBERNETES_VERSION
# What building ParkLink reads: the image's build context (.dockerignore lets only these in)
# and the wheel test's copy of the checkout.
BUILD_INPUTS = (
    "pyproject.toml",
    "setup.py",
    "MANIFEST.in",
    "README.md",
    "schemas",
    "deploy/kafka",
    "services",
)


def tools_dir() -> Path:
    return Path(os.environ.get("PARKLINK_TOOLS_DIR", Path.home() / ".cache" / "parklink" / "tools"))


def missing_tool(what: str) -> None:
    reason = f"{what} is not installed: run `make deploy-tools`"
    if IN_CI:
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def tool(name: str) -> Path:
    """The path of an installed checker, e.g. tool("kubeconform")."""
    path = tools_dir() / "bin" / name
    if not os.access(path, os.X_OK):
        missing_tool(name)
    return path


def run(*cmd: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in cmd],
        cwd=CHECKOUT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
