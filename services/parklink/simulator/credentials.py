"""The demo's plain tokens. Token hashes live in the token store; the plain tokens the demo
itself uses (one per simulated park, one operator) are kept in a 0600 JSON file in the state
dir, so that a second `make run` reuses them instead of issuing new ones every time."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from parklink.eventkit.errors import ParkLinkError
from parklink.eventkit.settings import Settings, load_settings
from parklink.eventkit.tokens import Role, TokenError, TokenStore

DEMO_OPERATOR = "demo-operator"


@dataclass
class DemoTokens:
    parks: dict[str, str] = field(default_factory=dict)
    operator: str | None = None

    def to_json(self) -> dict[str, object]:
        return {"operator": self.operator, "parks": self.parks}


def load(path: Path) -> DemoTokens:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return DemoTokens()
    except (OSError, ValueError) as exc:
        raise ParkLinkError(f"cannot read the tokens file {path}: {exc}") from exc
    parks = doc.get("parks") if isinstance(doc, dict) else None
    if not isinstance(parks, dict) or not all(isinstance(v, str) for v in parks.values()):
        raise ParkLinkError(f'{path} must hold {{"parks": {{"<park id>": "<token>", ...}}}}')
    operator = doc.get("operator")
    return DemoTokens(dict(parks), operator if isinstance(operator, str) else None)


def save(path: Path, tokens: DemoTokens) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(tokens.to_json(), out, indent=2)
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def ensure(state_dir: Path, path: Path, parks: Iterable[str], operator: bool = False) -> DemoTokens:
    """Tokens for `parks` (and an operator): the saved ones that the token store still
    accepts, new ones for the rest. Saves the file when something was issued."""
    tokens = load(path)
    store = TokenStore.from_settings(load_settings(Settings, state_dir=state_dir))
    changed = False
    try:
        for park_id in parks:
            if not _valid(store, tokens.parks.get(park_id), Role.PARK, park_id):
                tokens.parks[park_id] = store.issue(Role.PARK, park_id)
                changed = True
        if operator and not _valid(store, tokens.operator, Role.OPERATOR, DEMO_OPERATOR):
            tokens.operator = store.issue(Role.OPERATOR, DEMO_OPERATOR)
            changed = True
    finally:
        store.close()
    if changed:
        save(path, tokens)
    return tokens


def _valid(store: TokenStore, token: str | None, role: Role, name: str) -> bool:
    if token is None:
        return False
    try:
        principal = store.verify(token)
    except TokenError:
        return False
    return principal.role == role and principal.name == name
