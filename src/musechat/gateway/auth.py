"""API keys: read from a file or mounted secret, stored hashed, compared in constant time, scoped.

Key file (JSON lines): {"name": "acme-prod", "sha256": "<hex of sha256(key)>", "scopes": ["read", "write"]}.
Scopes: `read` (videos, conversations), `catalog:write` (track submission, the admin scope).
`musechat keys create` mints a key and prints it once; only its hash is ever written.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

SCOPE_READ = "read"
SCOPE_CATALOG_WRITE = "catalog:write"
KNOWN_SCOPES = frozenset({SCOPE_READ, SCOPE_CATALOG_WRITE})
KEY_PREFIX = "mck_"


class AuthError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class ApiKey:
    name: str
    sha256: str
    scopes: frozenset[str]


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def mint_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


class ApiKeyRing:
    def __init__(self, keys: list[ApiKey]) -> None:
        self._keys = keys

    @classmethod
    def from_file(cls, path: Path) -> ApiKeyRing:
        keys = []
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                scopes = frozenset(record["scopes"])
                digest = str(record["sha256"]).lower()
                name = str(record["name"])
            except (json.JSONDecodeError, KeyError, TypeError) as error:
                raise ValueError(f"{path}:{number}: expected {{name, sha256, scopes}} JSON ({error})") from error
            if unknown := scopes - KNOWN_SCOPES:
                raise ValueError(f"{path}:{number}: unknown scopes {sorted(unknown)}; known: {sorted(KNOWN_SCOPES)}")
            if len(digest) != 64:
                raise ValueError(f"{path}:{number}: sha256 must be 64 hex characters")
            keys.append(ApiKey(name, digest, scopes))
        return cls(keys)

    def authenticate(self, authorization: str | None, required_scope: str) -> ApiKey:
        """Resolve an `Authorization: Bearer <key>` header; 401 without a valid key, 403 without the scope."""
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


def key_record(name: str, key: str, scopes: list[str]) -> str:
    if unknown := set(scopes) - KNOWN_SCOPES:
        raise ValueError(f"unknown scopes {sorted(unknown)}; known: {sorted(KNOWN_SCOPES)}")
    return json.dumps({"name": name, "sha256": hash_key(key), "scopes": sorted(scopes)})
