"""Where ParkLink's own files live in a checkout (schemas, deploy recipes)."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
SCHEMAS_DIR = REPO_ROOT / "schemas"
DEPLOY_DIR = REPO_ROOT / "deploy"
