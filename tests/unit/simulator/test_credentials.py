from __future__ import annotations

from pathlib import Path

from parklink.eventkit.tokens import Role, TokenStore
from parklink.simulator import credentials


def test_demo_tokens_are_kept_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "demo-tokens.json"
    first = credentials.ensure(tmp_path, path, ["CN-QD-SCODA", "KZ-ALA-IPA"], operator=True)
    assert path.stat().st_mode & 0o777 == 0o600
    again = credentials.ensure(tmp_path, path, ["CN-QD-SCODA", "KZ-ALA-IPA"], operator=True)
    assert again == first
    store = TokenStore.in_state_dir(tmp_path)
    try:
        principal = store.verify(first.parks["KZ-ALA-IPA"])
        assert (principal.role, principal.name) == (Role.PARK, "KZ-ALA-IPA")
        assert store.verify(first.operator).role == Role.OPERATOR
        store.revoke(principal.token_id)
    finally:
        store.close()
    renewed = credentials.ensure(tmp_path, path, ["CN-QD-SCODA", "KZ-ALA-IPA"], operator=True)
    assert renewed.parks["KZ-ALA-IPA"] != first.parks["KZ-ALA-IPA"]
    assert renewed.parks["CN-QD-SCODA"] == first.parks["CN-QD-SCODA"]
