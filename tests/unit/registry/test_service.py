"""Registry operations over an in-memory log: the same record-replay rules as the Kafka store,
without a broker."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from parklink.registry import errors
from parklink.registry.errors import ApiError
from parklink.registry.service import Registry
from parklink.registry.state import Record, RegistryState, schema_key


class MemoryLog:
    """An ordered log; every state attached to it applies each record once, in order."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.rival: list[Record] = []  # records "another instance" lands just before the next write

    def compacted(self) -> list[Record]:
        last: dict[bytes, bytes | None] = {}
        for key, value in self.records:
            last.pop(key, None)
            last[key] = value
        return [(k, v) for k, v in last.items() if v is not None]


class MemoryStore:
    def __init__(self, log: MemoryLog, state: RegistryState) -> None:
        self.log, self.state, self.applied = log, state, 0

    def catch_up(self) -> None:
        for key, value in self.log.records[self.applied :]:
            self.state.apply(key, value)
        self.applied = len(self.log.records)

    def write(self, records: Sequence[Record]) -> None:
        self.log.records += self.log.rival
        self.log.rival = []
        self.log.records += records
        self.catch_up()


def registry(log: MemoryLog | None = None, max_bytes: int = 256 * 1024) -> Registry:
    state = RegistryState()
    store = MemoryStore(log or MemoryLog(), state)
    store.catch_up()
    return Registry(state, store, max_bytes)


def schema(*extra: dict[str, Any], name: str = "Shipment") -> dict[str, str]:
    fields = [{"name": "id", "type": "string"}, *extra]
    return {"schema": json.dumps({"type": "record", "name": name, "fields": fields})}


WITH_NOTE = {"name": "note", "type": "string", "default": ""}
WITH_MODE = {"name": "mode", "type": "string"}


def code_of(call: Any, *args: Any) -> tuple[int, int]:
    with pytest.raises(ApiError) as info:
        call(*args)
    return info.value.status, info.value.code


def test_same_schema_twice_same_id_and_version() -> None:
    reg = registry()
    first = reg.register("s-value", schema())
    spaced = {"schema": json.dumps(json.loads(schema()["schema"]), indent=2)}
    assert reg.register("s-value", spaced) == first
    assert reg.versions("s-value") == [1]
    assert reg.lookup("s-value", spaced)["version"] == 1


def test_ids_are_global_and_versions_per_subject() -> None:
    reg = registry()
    a = reg.register("a-value", schema())["id"]
    b = reg.register("a-value", schema(WITH_NOTE))["id"]
    assert b == a + 1
    assert reg.register("b-value", schema(WITH_NOTE))["id"] == b  # same schema, same id
    assert reg.version("b-value", "latest")["version"] == 1
    assert reg.id_subjects(str(b)) == ["a-value", "b-value"]
    assert reg.id_versions(str(b)) == [
        {"subject": "a-value", "version": 2},
        {"subject": "b-value", "version": 1},
    ]


def test_incompatible_change_is_refused_and_nothing_is_stored() -> None:
    log = MemoryLog()
    reg = registry(log)
    reg.register("s-value", schema())
    before = list(log.records)
    with pytest.raises(ApiError) as info:
        reg.register("s-value", schema(WITH_MODE))
    assert (info.value.status, info.value.code) == (409, errors.INCOMPATIBLE)
    assert "'mode'" in info.value.message and "no default value" in info.value.message
    assert log.records == before
    reg.set_config("s-value", {"compatibility": "NONE"})
    assert reg.register("s-value", schema(WITH_MODE))["id"] == 2


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"schema": "{not avro"}, errors.INVALID_SCHEMA),
        ({"schema": '{"type": "record", "name": "X"}'}, errors.INVALID_SCHEMA),
        ({"schema": ""}, errors.INVALID_SCHEMA),
        ({}, errors.INVALID_SCHEMA),
        ([1, 2], errors.INVALID_SCHEMA),
        ({"schema": '"string"', "schemaType": "PROTOBUF"}, errors.INVALID_SCHEMA),
        (
            {"schema": '"string"', "references": [{"name": "x", "subject": "y", "version": 1}]},
            errors.INVALID_SCHEMA,
        ),
    ],
)
def test_invalid_schemas_answer_42201_and_store_nothing(body: Any, code: int) -> None:
    log = MemoryLog()
    reg = registry(log)
    assert code_of(reg.register, "s-value", body) == (422, code)
    assert log.records == []


def test_too_large_schema() -> None:
    reg = registry(max_bytes=2048)
    big = schema({"name": "f", "type": "string", "doc": "x" * 4096})
    with pytest.raises(ApiError) as info:
        reg.register("s-value", big)
    assert info.value.code == errors.INVALID_SCHEMA and "too large" in info.value.message


def test_schema_type_avro_is_accepted() -> None:
    reg = registry()
    assert reg.register("s-value", {**schema(), "schemaType": "AVRO", "references": []}) == {
        "id": 1
    }


@pytest.mark.parametrize("version", ["0", "abc", "-2", "1.5", str(2**31)])
def test_invalid_versions(version: str) -> None:
    reg = registry()
    reg.register("s-value", schema())
    assert code_of(reg.version, "s-value", version) == (422, errors.INVALID_VERSION)
    assert code_of(reg.delete_version, "s-value", version, False) == (422, errors.INVALID_VERSION)


def test_not_found_answers() -> None:
    reg = registry()
    assert code_of(reg.versions, "nope") == (404, errors.SUBJECT_NOT_FOUND)
    assert code_of(reg.version, "nope", "1") == (404, errors.SUBJECT_NOT_FOUND)
    reg.register("s-value", schema())
    assert code_of(reg.version, "s-value", "7") == (404, errors.VERSION_NOT_FOUND)
    assert code_of(reg.schema_by_id, "99") == (404, errors.SCHEMA_NOT_FOUND)
    assert code_of(reg.schema_by_id, "x") == (404, errors.SCHEMA_NOT_FOUND)
    assert code_of(reg.lookup, "s-value", schema(WITH_NOTE)) == (404, errors.SCHEMA_NOT_FOUND)
    assert code_of(reg.lookup, "other", schema()) == (404, errors.SUBJECT_NOT_FOUND)


def test_compatibility_levels_in_config() -> None:
    reg = registry()
    assert reg.get_config(None) == {"compatibilityLevel": "BACKWARD"}
    assert code_of(reg.set_config, None, {"compatibility": "SIDEWAYS"}) == (
        422,
        errors.INVALID_COMPATIBILITY_LEVEL,
    )
    assert code_of(reg.set_config, None, {}) == (422, errors.INVALID_COMPATIBILITY_LEVEL)
    assert reg.set_config(None, {"compatibility": "full"}) == {"compatibility": "FULL"}
    assert reg.get_config(None) == {"compatibilityLevel": "FULL"}
    assert code_of(reg.get_config, "s-value") == (404, errors.SUBJECT_LEVEL_CONFIG_NOT_FOUND)
    assert reg.get_config("s-value", True) == {"compatibilityLevel": "FULL"}
    reg.set_config("s-value", {"compatibilityLevel": "NONE"})
    assert reg.get_config("s-value") == {"compatibilityLevel": "NONE"}
    reg.delete_config("s-value")
    assert reg.get_config("s-value", True) == {"compatibilityLevel": "FULL"}


def test_test_compatibility_verbose() -> None:
    reg = registry()
    reg.register("s-value", schema())
    assert reg.test_compatibility("s-value", "latest", schema(WITH_NOTE), False) == {
        "is_compatible": True
    }
    answer = reg.test_compatibility("s-value", "1", schema(WITH_MODE), True)
    assert answer["is_compatible"] is False
    assert any("'mode'" in m for m in answer["messages"])
    assert code_of(reg.test_compatibility, "s-value", "3", schema(), False) == (
        404,
        errors.VERSION_NOT_FOUND,
    )


def test_soft_then_permanent_delete() -> None:
    log = MemoryLog()
    reg = registry(log)
    reg.register("s-value", schema())
    reg.register("s-value", schema(WITH_NOTE))
    assert code_of(reg.delete_version, "s-value", "1", True) == (
        404,
        errors.VERSION_NOT_SOFT_DELETED,
    )
    assert reg.delete_version("s-value", "1", False) == 1
    assert reg.versions("s-value") == [2]
    assert reg.versions("s-value", deleted=True) == [1, 2]
    assert code_of(reg.version, "s-value", "1") == (404, errors.VERSION_NOT_FOUND)
    assert reg.version("s-value", "1", deleted=True)["id"] == 1
    assert reg.delete_version("s-value", "1", True) == 1
    assert reg.versions("s-value", deleted=True) == [2]
    assert code_of(reg.schema_by_id, "1") == (404, errors.SCHEMA_NOT_FOUND)

    assert code_of(reg.delete_subject, "s-value", True) == (
        404,
        errors.SUBJECT_NOT_SOFT_DELETED,
    )
    assert reg.delete_subject("s-value", False) == [2]
    assert reg.subjects() == []
    assert reg.subjects(deleted=True) == ["s-value"]
    assert code_of(reg.delete_subject, "s-value", False) == (404, errors.SUBJECT_SOFT_DELETED)
    # Registering again continues the version numbers and reuses the schema's id.
    assert reg.register("s-value", schema(WITH_NOTE)) == {"id": 2}
    assert reg.versions("s-value") == [3]
    reg.delete_subject("s-value", False)
    assert reg.delete_subject("s-value", True) == [2, 3]
    assert reg.subjects(deleted=True) == []
    assert log.compacted() == []


def test_replay_rebuilds_the_same_state() -> None:
    log = MemoryLog()
    reg = registry(log)
    reg.register("a-value", schema())
    reg.register("a-value", schema(WITH_NOTE))
    reg.register("b-value", schema(name="Order"))
    reg.delete_version("a-value", "1", False)
    reg.set_config("b-value", {"compatibility": "FULL"})
    for records in (log.records, log.compacted()):
        replay = MemoryLog()
        replay.records = list(records)
        again = registry(replay)
        assert again.subjects(deleted=True) == ["a-value", "b-value"]
        assert again.versions("a-value") == [2]
        assert again.version("b-value", "1")["id"] == 3
        assert again.get_config("b-value") == {"compatibilityLevel": "FULL"}
        assert again.register("c-value", schema(name="Order")) == {"id": 3}


def test_concurrent_writer_losing_a_version_retries_and_repairs() -> None:
    log = MemoryLog()
    reg = registry(log)
    reg.register("s-value", schema())
    rival_state = RegistryState()
    rival_store = MemoryStore(log, rival_state)
    rival = Registry(rival_state, rival_store, 256 * 1024)
    rival_store.catch_up()
    # The rival claims version 2 (and id 2) just before our write lands.
    rival_schema = json.loads(schema({"name": "x", "type": "int", "default": 0})["schema"])
    log.rival = [
        (
            schema_key("s-value", 2),
            json.dumps(
                {
                    "subject": "s-value",
                    "version": 2,
                    "id": 2,
                    "schema": json.dumps(rival_schema),
                    "deleted": False,
                }
            ).encode(),
        )
    ]
    assert reg.register("s-value", schema(WITH_NOTE)) == {"id": 3}
    assert reg.versions("s-value") == [1, 2, 3]
    assert reg.version("s-value", "2")["schema"] == json.dumps(rival_schema)
    # After compaction the winner is still version 2, for everyone.
    replay = MemoryLog()
    replay.records = log.compacted()
    again = registry(replay)
    assert again.version("s-value", "2")["id"] == 2
    assert again.version("s-value", "3")["id"] == 3
    # The rival, reading the same log, agrees once it has read on.
    rival_store.catch_up()
    assert rival.version("s-value", "2") == reg.version("s-value", "2")
    assert rival.version("s-value", "3") == reg.version("s-value", "3")


def test_concurrent_writer_losing_an_id_retries_with_a_new_one() -> None:
    log = MemoryLog()
    reg = registry(log)
    reg.register("s-value", schema())
    other = json.dumps(json.loads(schema(name="Order")["schema"]))
    log.rival = [
        (
            schema_key("o-value", 1),
            json.dumps(
                {"subject": "o-value", "version": 1, "id": 2, "schema": other, "deleted": False}
            ).encode(),
        )
    ]
    assert reg.register("s-value", schema(WITH_NOTE)) == {"id": 3}
    assert reg.version("s-value", "2")["id"] == 3
    assert reg.schema_by_id("2") == {"schema": other}
    replay = MemoryLog()
    replay.records = log.compacted()
    again = registry(replay)
    assert again.version("s-value", "2")["id"] == 3
    assert again.version("o-value", "1")["id"] == 2
