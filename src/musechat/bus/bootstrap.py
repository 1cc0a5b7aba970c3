"""Say why a Kafka client could not bootstrap, and what to fix.

kafka-python ends every failed bootstrap (wrong password, untrusted CA, wrong host, broker down, plaintext
against an authenticating listener) with the same `KafkaTimeoutError("Unable to bootstrap from [...]")`:
the cause is only in a WARNING line of `kafka.net.manager` before it. `bootstrapping` wraps a client's
construction, keeps those lines, and turns the timeout into one `BusBootstrapError` line naming the
settings, the cause and a hint. The password never appears in it.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Iterator
from typing import Any

from kafka.errors import KafkaTimeoutError

from musechat.bus.settings import BusSettings

MAX_CAUSE_CHARS = 400

# kafka-python 3.x, kafka/net/manager.py: one line per failed attempt, the exception text after "failed: ".
_CAUSE_LOGGER = logging.getLogger("kafka.net.manager")
_CAUSE_LINE = re.compile(
    r"Bootstrap (?:connection|attempt) to \S+ failed: (?P<cause>.+?)(?: \(backoff [\d.]+ secs\))?$", re.DOTALL
)

# (pattern in the cause, what to check), first match wins.
_HINTS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"SaslAuthenticationFailed|invalid credentials|authentication failed", re.I),
     "the broker refused the SASL login: check the password in the KafkaUser's Secret "
     "(MUSECHAT_BUS_SASL_PASSWORD_FILE) and MUSECHAT_BUS_SASL_USERNAME"),
    (re.compile(r"CERTIFICATE_VERIFY_FAILED|certificate", re.I),
     "the broker's TLS certificate was not accepted: check that MUSECHAT_BUS_SSL_CAFILE holds the cluster CA "
     "and that the host names in MUSECHAT_BUS_BOOTSTRAP_SERVERS are ones the broker certificate names"),
    (re.compile(r"SASL", re.I),
     "the SASL login did not complete: check MUSECHAT_BUS_SASL_MECHANISM, MUSECHAT_BUS_SASL_USERNAME and "
     "MUSECHAT_BUS_SASL_PASSWORD_FILE against the KafkaUser"),
    (re.compile(r"WRONG_VERSION_NUMBER|socket disconnected|Connection reset|EOF occurred", re.I),
     "the broker dropped the connection: check that MUSECHAT_BUS_SECURITY_PROTOCOL matches the listener on "
     "that port (TLS or not, SASL or not)"),
    (re.compile(r"DNS|ECONNREFUSED|Connection refused|unreachable|No route|timed out", re.I),
     "no broker answered: check the hosts and ports in MUSECHAT_BUS_BOOTSTRAP_SERVERS and that the brokers run"),
]
_NO_CAUSE_HINT = "check MUSECHAT_BUS_BOOTSTRAP_SERVERS and that the brokers run"


class BusBootstrapError(KafkaTimeoutError):
    """A Kafka client could not bootstrap; the message names the settings, the cause and what to check.
    A `KafkaTimeoutError` (hence a `KafkaError`), as kafka-python's own bootstrap failure is."""


def bootstrap_error_message(settings: BusSettings, cause: str | None, *, password: str | None = None) -> str:
    """One line: where the client dialled, how, why it failed (when kafka-python logged why) and a hint.
    `password`, when given, is masked should the cause text ever contain it."""
    parts = [f"bootstrap_servers={','.join(settings.bootstrap_list)}",
             f"security_protocol={settings.security_protocol}"]
    if settings.sasl_mechanism:
        parts += [f"sasl_mechanism={settings.sasl_mechanism}", f"sasl_username={settings.sasl_username}"]
    if settings.ssl_cafile is not None:
        parts.append(f"ssl_cafile={settings.ssl_cafile}")
    message = (f"Kafka client could not bootstrap within {settings.bootstrap_timeout_ms / 1000:g} s "
               f"({', '.join(parts)})")
    if cause is None:
        return f"{message}; hint: {_NO_CAUSE_HINT}"
    if password:
        cause = cause.replace(password, "***")
    cause = " ".join(cause.split())  # one line
    if len(cause) > MAX_CAUSE_CHARS:
        cause = cause[:MAX_CAUSE_CHARS] + "..."
    message = f"{message}: {cause}"
    hint = next((text for pattern, text in _HINTS if pattern.search(cause)), None)
    return f"{message}; hint: {hint}" if hint else message


def most_telling(causes: list[str]) -> str | None:
    """The cause that says most about what to fix: the one whose hint comes first in `_HINTS`, the latest
    among equals. On a loaded host one attempt may end in "Timeout during ApiVersions check" after earlier
    ones were refused the SASL login; the refusal is the thing to fix, not the timeout."""
    def rank(cause: str) -> int:
        return next((i for i, (pattern, _) in enumerate(_HINTS) if pattern.search(cause)), len(_HINTS))

    return min(reversed(causes), key=rank, default=None)


@contextlib.contextmanager
def bootstrapping(settings: BusSettings) -> Iterator[dict[str, Any]]:
    """`with bootstrapping(settings) as security: KafkaProducer(..., **security)`: yields the client's
    security keyword arguments (`BusSettings.client_security_config`) and turns a failed bootstrap in the
    block into a `BusBootstrapError` carrying the cause kafka-python logged."""
    security = settings.client_security_config()
    with _CauseCapture() as capture:
        try:
            yield security
        except KafkaTimeoutError as exc:
            if isinstance(exc, BusBootstrapError):
                raise
            message = bootstrap_error_message(settings, most_telling(capture.causes),
                                              password=security.get("sasl_plain_password"))
            raise BusBootstrapError(message) from exc


class _CauseCapture(logging.Filter):
    """Keeps the causes `kafka.net.manager` logs while it is active.

    A filter on that logger, not a handler, so that it also sees the WARNING where the app has quieted the
    `kafka` loggers (the CLI sets ERROR): the logger is lowered to WARNING while any capture is active, and
    the filter passes on to the app's handlers only the records the app's level would have let through.
    Captures may overlap (clients built on several threads); each then also sees the others' lines.
    """

    _lock = threading.Lock()
    _active = 0
    _own_level = logging.NOTSET  # the logger's own level before the first active capture lowered it
    _app_level = logging.NOTSET  # its effective level then: what the app lets through

    def __init__(self) -> None:
        super().__init__()
        self.causes: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING and (match := _CAUSE_LINE.match(record.getMessage())):
            self.causes.append(match["cause"])
        return record.levelno >= _CauseCapture._app_level

    def __enter__(self) -> _CauseCapture:
        with self._lock:
            if _CauseCapture._active == 0:
                _CauseCapture._own_level = _CAUSE_LOGGER.level
                _CauseCapture._app_level = _CAUSE_LOGGER.getEffectiveLevel()
                _CAUSE_LOGGER.setLevel(min(_CauseCapture._app_level, logging.WARNING))
            _CauseCapture._active += 1
            _CAUSE_LOGGER.addFilter(self)
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            _CAUSE_LOGGER.removeFilter(self)
            _CauseCapture._active -= 1
            if _CauseCapture._active == 0:
                _CAUSE_LOGGER.setLevel(_CauseCapture._own_level)
