import base64

from parklink.kafkalocal.runner import new_cluster_id


def test_cluster_ids_are_base64_uuids_that_never_look_like_options() -> None:
    ids = [new_cluster_id() for _ in range(5000)]
    assert all(not i.startswith("-") for i in ids)
    assert all(len(base64.urlsafe_b64decode(i + "==")) == 16 for i in ids)
    assert len(set(ids)) == len(ids)
