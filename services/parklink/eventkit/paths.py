"""Where ParkLink's own files live: the Avro schemas with the topic catalog, and the local Kafka
runner's recipe (`deploy/kafka/`).

An installed wheel carries copies of them under `parklink/data/` (setup.py puts them there);
a checkout, run from the tree or installed with `pip install -e`, reads the originals at the top
of the repository."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]


def _data_root() -> Path:
    bundled = _PACKAGE / "data"
    if (bundled / "schemas" / "topics.toml").is_file():
        return bundled
    return _PACKAGE.parents[1]  # services/parklink -> the checkout


DATA_ROOT = _data_root()
SCHEMAS_DIR = DATA_ROOT / "schemas"
DEPLOY_DIR = DATA_ROOT / "deploy"
