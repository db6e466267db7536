"""Turns the Kubernetes JSON schemas shipped by the `kubernetes-validate` package (one file per
kind, all referring to one shared `_definitions.json`) into the self-contained files kubeconform
reads: each top-level kind with the definitions it reaches embedded under `definitions`.

usage: python k8s_schemas.py SOURCE_DIR TARGET_DIR   (e.g. .../v1.34.0-local-strict)"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

# How the shipped files point into the shared definitions: from a kind's file, and from inside
# _definitions.json itself.
SHARED = ("/api/_definitions.json#/$defs/", "#/$defs/")


def _target(ref: object) -> str | None:
    if isinstance(ref, str):
        for prefix in SHARED:
            if ref.startswith(prefix):
                return ref[len(prefix) :]
    return None


def refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        target = _target(node.get("$ref"))
        if target is not None:
            found.add(target)
        for value in node.values():
            found |= refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= refs(value)
    return found


def rewrite(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: rewrite(v) for k, v in node.items() if k not in {"$id", "$schema"}}
        target = _target(out.get("$ref"))
        if target is not None:
            out["$ref"] = "#/definitions/" + target
        return out
    if isinstance(node, list):
        return [rewrite(v) for v in node]
    return node


def standalone(schema: dict[str, Any], shared: dict[str, Any]) -> dict[str, Any]:
    wanted: set[str] = set()
    todo = refs(schema)
    while todo:
        name = todo.pop()
        if name in wanted:
            continue
        wanted.add(name)
        todo |= refs(shared[name]) - wanted
    out: dict[str, Any] = rewrite(schema)
    out["definitions"] = {name: rewrite(shared[name]) for name in sorted(wanted)}
    return out


def main(source: Path, target: Path) -> int:
    shared = json.loads((source / "_definitions.json").read_text())["$defs"]
    target.mkdir(parents=True, exist_ok=True)
    count = 0
    for path in sorted(source.glob("*.json")):
        if path.name.startswith("_"):
            continue
        schema = json.loads(path.read_text())
        if "kind" not in schema.get("properties", {}):
            continue  # not a top-level resource
        (target / path.name).write_text(json.dumps(standalone(schema, shared)))
        count += 1
    print(f"{count} standalone schemas in {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
