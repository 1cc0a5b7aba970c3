"""A client that cannot bootstrap fails with one line naming its settings, the cause and what to check."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka.errors import KafkaError, KafkaTimeoutError

from musechat.bus import BusBootstrapError, BusSettings, EventConsumer, EventProducer
from musechat.bus.bootstrap import bootstrap_error_message, bootstrapping, most_telling
from musechat.bus.broker import free_port

pytestmark = pytest.mark.unit

PASSWORD = "s3cret-Pa55word"
SASL_FAILED = ("[Error 58] SaslAuthenticationFailedError: SaslAuthenticationFailedError: Authentication failed "
               "during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512")
UNTRUSTED = ("KafkaConnectionError: Handshake failed: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
             "unable to get local issuer certificate (_ssl.c:1006)")
OTHER_HOST = ("KafkaConnectionError: Handshake failed: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
              "IP address mismatch, certificate is not valid for '10.0.0.7'. (_ssl.c:1006)")


@pytest.fixture
def scram(tmp_path: Path) -> BusSettings:
    (tmp_path / "password").write_text(PASSWORD + "\n")
    return BusSettings(bootstrap_servers="kafka-0.kafka:9093, kafka-1.kafka:9093", security_protocol="SASL_SSL",
                       sasl_mechanism="SCRAM-SHA-512", sasl_username="mc-musechat-indexer",
                       sasl_password_file=tmp_path / "password", ssl_cafile=Path("/etc/kafka-ca/ca.crt"),
                       max_block_ms=5000)


@pytest.fixture
def quiet_kafka() -> Iterator[None]:
    """The CLI's logging: the `kafka` loggers at ERROR (so kafka-python's WARNING cause line is not logged)."""
    kafka = logging.getLogger("kafka")
    level = kafka.level
    kafka.setLevel(logging.ERROR)
    yield
    kafka.setLevel(level)


def test_a_wrong_password_names_the_settings_the_cause_and_the_secret_to_check(scram: BusSettings) -> None:
    message = bootstrap_error_message(scram, SASL_FAILED, password=PASSWORD)

    assert message.startswith("Kafka client could not bootstrap within 5 s (bootstrap_servers=kafka-0.kafka:9093,"
                              "kafka-1.kafka:9093, security_protocol=SASL_SSL, sasl_mechanism=SCRAM-SHA-512, "
                              "sasl_username=mc-musechat-indexer, ssl_cafile=/etc/kafka-ca/ca.crt): ")
    assert "invalid credentials" in message
    assert "hint: the broker refused the SASL login" in message
    assert "KafkaUser's Secret (MUSECHAT_BUS_SASL_PASSWORD_FILE)" in message
    assert PASSWORD not in message
    assert "\n" not in message


@pytest.mark.parametrize("cause", [UNTRUSTED, OTHER_HOST])
def test_a_certificate_failure_points_at_the_ca_file_and_the_host_names(scram: BusSettings, cause: str) -> None:
    message = bootstrap_error_message(scram, cause, password=PASSWORD)

    assert "CERTIFICATE_VERIFY_FAILED" in message
    assert "hint: the broker's TLS certificate was not accepted: check that MUSECHAT_BUS_SSL_CAFILE" in message
    assert "MUSECHAT_BUS_BOOTSTRAP_SERVERS" in message


@pytest.mark.parametrize(
    ("cause", "hint"),
    [
        ("KafkaConnectionError: 111 ECONNREFUSED", "no broker answered"),
        ("KafkaConnectionError: DNS Resolution failure", "no broker answered"),
        ("KafkaConnectionError: socket disconnected", "MUSECHAT_BUS_SECURITY_PROTOCOL matches the listener"),
        ("KafkaTimeoutError: SASL Authentication timed out", "the SASL login did not complete"),
        (None, "hint: check MUSECHAT_BUS_BOOTSTRAP_SERVERS and that the brokers run"),
    ],
)
def test_each_recognised_cause_gets_its_hint(cause: str | None, hint: str) -> None:
    message = bootstrap_error_message(BusSettings(bootstrap_servers="kafka:9092"), cause)

    assert "(bootstrap_servers=kafka:9092, security_protocol=PLAINTEXT)" in message  # no SASL or CA fields
    assert hint in message


def test_an_unrecognised_cause_is_kept_without_a_hint() -> None:
    message = bootstrap_error_message(BusSettings(), "'v'")
    assert message.endswith("security_protocol=PLAINTEXT): 'v'")


def test_the_password_is_masked_should_a_cause_ever_echo_it(scram: BusSettings) -> None:
    message = bootstrap_error_message(scram, f"broker said: bad password {PASSWORD}\nsecond line" + "x" * 1000,
                                      password=PASSWORD)
    assert PASSWORD not in message
    assert "bad password *** second line" in message
    assert "\n" not in message and message.endswith("...")


def test_bootstrapping_keeps_the_cause_kafka_only_logged_even_when_its_loggers_are_quieted(
    scram: BusSettings, quiet_kafka: None, caplog: pytest.LogCaptureFixture
) -> None:
    manager = logging.getLogger("kafka.net.manager")

    with pytest.raises(BusBootstrapError) as raised, bootstrapping(scram) as security:
        assert security["sasl_plain_password"] == PASSWORD  # the client's keyword arguments
        manager.warning("Bootstrap bootstrap-0 not ready; waiting %.2f secs", 0.1)
        manager.warning("Bootstrap connection to %s failed: %s (backoff %.2f secs)", "bootstrap-0", SASL_FAILED, 0.2)
        manager.error("Bootstrap failed: KafkaTimeoutError: Unable to bootstrap from ['kafka-0.kafka:9093']")
        raise KafkaTimeoutError("Unable to bootstrap from ['kafka-0.kafka:9093']")

    error = raised.value
    assert isinstance(error, KafkaTimeoutError) and isinstance(error, KafkaError)  # callers catch KafkaError
    assert str(error).startswith("BusBootstrapError: Kafka client could not bootstrap within 5 s")
    assert f"ssl_cafile=/etc/kafka-ca/ca.crt): {SASL_FAILED}; hint: the broker refused" in str(error)
    assert PASSWORD not in str(error)
    # The app's level still decides what is logged: the ERROR passed, the WARNINGs did not.
    assert [r.levelno for r in caplog.records if r.name == "kafka.net.manager"] == [logging.ERROR]
    assert (manager.level, manager.filters) == (logging.NOTSET, [])


def test_a_refusal_is_not_masked_by_a_later_timeout(scram: BusSettings) -> None:
    # Seen on a loaded CI host: the wrong password was refused, then the last attempt timed out in ApiVersions.
    manager = logging.getLogger("kafka.net.manager")
    with pytest.raises(BusBootstrapError) as raised, bootstrapping(scram):
        manager.warning("Bootstrap connection to %s failed: %s (backoff %.2f secs)", "bootstrap-0", SASL_FAILED, 0.2)
        manager.warning("Bootstrap connection to %s failed: %s (backoff %.2f secs)", "bootstrap-0",
                        "KafkaTimeoutError: Timeout during ApiVersions check", 0.4)
        raise KafkaTimeoutError("Unable to bootstrap from ['kafka-0.kafka:9093']")
    assert f"{SASL_FAILED}; hint: the broker refused the SASL login" in str(raised.value)


def test_the_most_telling_cause_is_the_latest_of_the_most_specific() -> None:
    assert most_telling([]) is None
    assert most_telling(["KafkaTimeoutError: Timeout during ApiVersions check", "something odd"]) == "something odd"
    assert most_telling(["Connection refused", "CERTIFICATE_VERIFY_FAILED: one", "Connection refused",
                         "CERTIFICATE_VERIFY_FAILED: two"]) == "CERTIFICATE_VERIFY_FAILED: two"


def test_other_errors_pass_through_bootstrapping(scram: BusSettings) -> None:
    with pytest.raises(ValueError, match="not a bootstrap failure"), bootstrapping(scram):
        raise ValueError("not a bootstrap failure")


def test_a_producer_and_a_consumer_without_a_broker_fail_within_their_bootstrap_timeout() -> None:
    settings = BusSettings(bootstrap_servers=f"127.0.0.1:{free_port()}", max_block_ms=1500)

    for build in (lambda: EventProducer(settings),
                  # the consumer's own client, not its DLQ producer: bounded the same way (default 30 s)
                  lambda: EventConsumer(settings, ["t"], "g", lambda _e, _c: None,
                                        dlq_producer=object()).run(idle_timeout_s=1.0)):  # type: ignore[arg-type]
        started = time.monotonic()
        with pytest.raises(BusBootstrapError, match=r"ECONNREFUSED.*hint: no broker answered"):
            build()
        assert time.monotonic() - started < 1.5 + 3.0
