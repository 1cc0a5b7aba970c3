"""BusSettings' TLS + SASL/SCRAM options become the kafka-python client config (the chart's KafkaUser path)."""

from __future__ import annotations

from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer
from pydantic import ValidationError

from musechat.bus.settings import BusSettings

pytestmark = pytest.mark.unit


def test_plaintext_is_the_default_and_adds_no_credentials() -> None:
    assert BusSettings().client_security_config() == {"security_protocol": "PLAINTEXT"}


def test_scram_over_tls_from_env_reads_the_mounted_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    password_file = tmp_path / "password"
    password_file.write_text("s3cret\n")  # Secrets mounted from files often end in a newline
    for name, value in {
        "SECURITY_PROTOCOL": "SASL_SSL",
        "SASL_MECHANISM": "SCRAM-SHA-512",
        "SASL_USERNAME": "musechat-ranker",
        "SASL_PASSWORD_FILE": str(password_file),
        "SSL_CAFILE": "/etc/kafka-ca/ca.crt",
    }.items():
        monkeypatch.setenv(f"MUSECHAT_BUS_{name}", value)

    config = BusSettings().client_security_config()

    assert config == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "musechat-ranker",
        "sasl_plain_password": "s3cret",
        "ssl_cafile": "/etc/kafka-ca/ca.crt",
    }
    # Every key is one kafka-python's producer and consumer really take (a typo would be ignored there).
    assert set(config) <= set(KafkaProducer.DEFAULT_CONFIG) & set(KafkaConsumer.DEFAULT_CONFIG)


def test_rotated_password_is_read_by_the_next_client(tmp_path: Path) -> None:
    password_file = tmp_path / "password"
    password_file.write_text("old")
    settings = BusSettings(security_protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512",
                           sasl_username="u", sasl_password_file=password_file)
    assert settings.client_security_config()["sasl_plain_password"] == "old"
    password_file.write_text("new")
    assert settings.client_security_config()["sasl_plain_password"] == "new"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"security_protocol": "SASL_SSL"}, "needs sasl_mechanism, sasl_username and sasl_password_file"),
        ({"sasl_username": "u"}, "SASL settings given but security_protocol is PLAINTEXT"),
        ({"ssl_cafile": "/ca.crt"}, "ssl_cafile given but security_protocol is PLAINTEXT"),
        ({"security_protocol": "TLS"}, "security_protocol"),
    ],
)
def test_inconsistent_security_settings_are_clear_errors(kwargs: dict[str, str], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        BusSettings(**kwargs)  # type: ignore[arg-type]


def test_unreadable_password_file_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "absent"
    settings = BusSettings(security_protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-512",
                           sasl_username="u", sasl_password_file=missing)
    with pytest.raises(ValueError, match=f"cannot read sasl_password_file {missing}"):
        settings.client_security_config()
