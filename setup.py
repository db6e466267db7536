"""Build hook: the wheel carries copies of the files ParkLink reads at run time.

`schemas/` (the Avro schemas and the topic catalog) and `deploy/kafka/` (the local Kafka
runner's Maven recipe and templates) stay at the top of the repository, where people and other
tools look for them; at build time they are copied into the package as `parklink/data/`, where
`parklink.eventkit.paths` finds them in an installed wheel. An editable install copies nothing:
paths.py then reads the checkout."""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
# checkout directory -> directory under parklink/data/ in the wheel
BUNDLED = {"schemas": "schemas", "deploy/kafka": "deploy/kafka"}


def bundled_files() -> list[tuple[Path, Path]]:
    pairs = []
    for source, target in BUNDLED.items():
        base = ROOT / source
        if not base.is_dir():
            raise SystemExit(f"cannot build ParkLink: {base} is missing")
        for path in sorted(base.rglob("*")):
            relative = path.relative_to(base)
            if path.is_file() and not any(p.startswith(".") for p in relative.parts):
                pairs.append((path, Path("parklink") / "data" / target / relative))
    return pairs


class BuildPyWithData(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for source, target in bundled_files():
            destination = Path(self.build_lib) / target
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)


setup(cmdclass={"build_py": BuildPyWithData})
