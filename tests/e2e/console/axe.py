"""axe-core for the accessibility check, installed at test setup: `npm pack axe-core@4` into
the cache dir (PARKLINK_CACHE_DIR, outside the repo) the first time, then reused. A machine
without npm fails the check in CI and skips it elsewhere."""

from __future__ import annotations

import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from conftest import IN_CI

from parklink.eventkit.settings import Settings

AXE_SPEC = "axe-core@4"


def axe_script() -> str:
    """The text of axe.min.js."""
    folder = Settings().cache_dir / "axe"
    script = folder / "axe.min.js"
    if not script.exists():
        npm = shutil.which("npm")
        if npm is None:
            message = "the accessibility check needs npm to fetch axe-core (apt-get install npm)"
            if IN_CI:
                pytest.fail(message, pytrace=False)
            pytest.skip(message)
        folder.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [npm, "pack", AXE_SPEC, "--silent", "--pack-destination", str(folder)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"npm pack {AXE_SPEC} failed: {done.stderr.strip()}", pytrace=False)
        tarball = folder / done.stdout.strip().splitlines()[-1]
        with tarfile.open(tarball) as archive:
            member = archive.extractfile("package/axe.min.js")
            assert member is not None, "axe-core's package has no axe.min.js"
            script.write_bytes(member.read())
    return Path(script).read_text(encoding="utf-8")
