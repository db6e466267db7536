import pytest

from parklink.eventkit.errors import ParkLinkError
from parklink.eventkit.settings import Settings, load_settings


def test_unknown_setting_value_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARKLINK_LOG_LEVEL", "LOUD")
    with pytest.raises(ParkLinkError) as info:
        load_settings(Settings)
    assert str(info.value).startswith("invalid setting: PARKLINK_LOG_LEVEL:")
    assert "'LOUD'" in str(info.value)


def test_defaults_and_bootstrap_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARKLINK_KAFKA_BOOTSTRAP", "127.0.0.1:9092, 127.0.0.1:9094")
    settings = load_settings(Settings)
    assert settings.bootstrap_servers == ["127.0.0.1:9092", "127.0.0.1:9094"]
    assert settings.topic_prefix == "alliance."
