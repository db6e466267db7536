"""hadolint finds nothing in deploy/Dockerfile, and the build context leaves out what a build
must not send (the virtualenv, state, caches)."""

from __future__ import annotations

from pathlib import Path

from deploy.checkers import BUILD_INPUTS, CHECKOUT, DEPLOY, run, tool


def test_hadolint_finds_nothing() -> None:
    result = run(tool("hadolint"), "--no-color", DEPLOY / "Dockerfile")
    assert result.returncode == 0 and result.stdout.strip() == "", result.stdout + result.stderr


def test_hadolint_does_report_what_the_old_dockerfile_did(tmp_path: Path) -> None:
    old = tmp_path / "Dockerfile"
    old.write_text(
        "FROM python:3.11-slim\nCOPY . /app\nRUN pip install -e /app && useradd parklink\n"
        "USER parklink\n"
    )
    result = run(tool("hadolint"), "--no-color", old)
    assert result.returncode != 0
    for rule in ("DL3042", "DL3066"):  # pip cache, a user name instead of a uid
        assert rule in result.stdout, result.stdout


def test_the_image_installs_the_built_wheel_as_a_numeric_user() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert "pip install -e" not in text
    assert "pip wheel" in text and "/wheels/parklink-*.whl" in text
    users = [line.split()[1] for line in text.splitlines() if line.startswith("USER ")]
    assert users and all(u.replace(":", "").isdigit() for u in users), users
    bases = [line.split()[1] for line in text.splitlines() if line.startswith("ARG PYTHON_IMAGE=")]
    assert bases and all(b.count(".") >= 2 and not b.endswith(":latest") for b in bases)


def test_dockerignore_sends_only_the_wheels_inputs() -> None:
    lines = [
        line.strip()
        for line in (CHECKOUT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "**"  # everything out, then the inputs back in
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert allowed == set(BUILD_INPUTS)
