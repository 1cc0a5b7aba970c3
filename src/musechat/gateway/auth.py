"""API keys: read from a file or mounted secret, stored hashed, compared in constant time, scoped.

Key file (JSON lines): {"name": "acme-prod", "sha256": "<hex of sha256(key)>", "scopes": ["read"],
"tenant": "acme"}. Scopes: `read` (videos, conversations), `catalog:write` (track submission, the admin
scope). Every key belongs to one tenant (`default` when the line names none): videos, conversations and
feedback are visible to keys of their own tenant only. `musechat keys create --tenant T` mints a key and
prints it once; only its hash is ever written.

The file is re-read when it changes (its mtime and size, looked at most once a second): a key added or
removed (revoked) takes effect without a restart. A file that no longer parses is logged and ignored:
the keys already loaded stay in force rather than locking every client out.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from musechat.contracts.conversation import DEFAULT_TENANT
from musechat.errors import MuseChatError

SCOPE_READ = "read"
SCOPE_CATALOG_WRITE = "catalog:write"
SCOPE_METRICS = "metrics"  # /metrics only: what a Prometheus scrape key needs
KNOWN_SCOPES = frozenset({SCOPE_READ, SCOPE_CATALOG_WRITE, SCOPE_METRICS})
KEY_PREFIX = "mck_"
TENANT_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
RELOAD_CHECK_S = 1.0
log = logging.getLogger(__name__)


class AuthError(MuseChatError):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message, status=status, code=code)


@dataclass(frozen=True)
class ApiKey:
    name: str
    sha256: str
    scopes: frozenset[str]
    tenant: str = DEFAULT_TENANT


def check_tenant(tenant: str) -> str:
    if not TENANT_PATTERN.fullmatch(tenant):
        raise ValueError(f"tenant {tenant!r} must be 1-64 of a-z, 0-9, '_' or '-', starting with a letter or digit")
    return tenant


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def mint_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


class ApiKeyRing:
    def __init__(self, keys: list[ApiKey], source: Path | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._keys = keys
        self._source = source
        self._clock = clock
        self._stamp = _stamp(source) if source is not None else None
        self._checked = clock()
        self._lock = threading.Lock()

    @classmethod
    def from_file(cls, path: Path) -> ApiKeyRing:
        """The keys of `path`, re-read whenever the file changes (see the module docstring)."""
        return cls(_parse(path), source=path)

    def _reload_if_changed(self) -> None:
        if self._source is None or self._clock() - self._checked < RELOAD_CHECK_S:
            return
        with self._lock:
            if self._clock() - self._checked < RELOAD_CHECK_S:
                return
            self._checked = self._clock()
            stamp = _stamp(self._source)
            if stamp == self._stamp:
                return
            try:
                keys = _parse(self._source)
            except (OSError, ValueError) as error:
                log.error("API key file %s changed but cannot be read; keeping the %d keys loaded: %s",
                          self._source, len(self._keys), error)
                return
            self._keys, self._stamp = keys, stamp
            log.info("API key file %s reloaded: %d keys", self._source, len(keys))

    def authenticate(self, authorization: str | None, required_scope: str) -> ApiKey:
        """Resolve an `Authorization: Bearer <key>` header; 401 without a valid key, 403 without the scope."""
        self._reload_if_changed()
        if not authorization:
            raise AuthError(401, "missing_api_key", "send your API key as 'Authorization: Bearer <key>'")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError(401, "invalid_api_key", "use the form 'Authorization: Bearer <key>'")
        presented = hash_key(token.strip())
        match = None
        for key in self._keys:  # no early exit: every key is compared, so timing does not reveal which matched
            if hmac.compare_digest(presented, key.sha256):
                match = key
        if match is None:
            raise AuthError(401, "invalid_api_key", "the API key is not valid; ask your admin for a key")
        if required_scope not in match.scopes:
            raise AuthError(403, "missing_scope", f"this API key lacks the '{required_scope}' scope")
        return match


def key_record(name: str, key: str, scopes: list[str], tenant: str = DEFAULT_TENANT) -> str:
    if unknown := set(scopes) - KNOWN_SCOPES:
        raise ValueError(f"unknown scopes {sorted(unknown)}; known: {sorted(KNOWN_SCOPES)}")
    return json.dumps({"name": name, "sha256": hash_key(key), "scopes": sorted(scopes),
                       "tenant": check_tenant(tenant)})


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def _parse(path: Path) -> list[ApiKey]:
    keys = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            scopes = frozenset(record["scopes"])
            digest = str(record["sha256"]).lower()
            name = str(record["name"])
            tenant = check_tenant(str(record.get("tenant", DEFAULT_TENANT)))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{path}:{number}: expected {{name, sha256, scopes, tenant}} JSON ({error})") from error
        if unknown := scopes - KNOWN_SCOPES:
            raise ValueError(f"{path}:{number}: unknown scopes {sorted(unknown)}; known: {sorted(KNOWN_SCOPES)}")
        if len(digest) != 64:
            raise ValueError(f"{path}:{number}: sha256 must be 64 hex characters")
        keys.append(ApiKey(name, digest, scopes, tenant))
    return keys
