"""`musechat keys create|list`: the key is printed once, only its hash is stored, bad input exits 2."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from musechat.cli import EXIT_OK, EXIT_USAGE, main
from musechat.gateway.auth import SCOPE_CATALOG_WRITE, SCOPE_READ, ApiKeyRing, AuthError

pytestmark = pytest.mark.unit


def create(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["keys", "create", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_created_key_authenticates_with_its_scopes_and_is_stored_hashed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "secrets" / "api-keys.jsonl"
    path.parent.mkdir()
    code, out, err = create(capsys, "--name", "acme", "--scopes", "read, catalog:write", "--file", str(path))
    assert code == EXIT_OK
    [key] = out.splitlines()  # stdout holds the key alone, for scripts
    assert "acme" in err and str(path) in err
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert key not in path.read_text()
    ring = ApiKeyRing.from_file(path)
    assert ring.authenticate(f"Bearer {key}", SCOPE_CATALOG_WRITE).name == "acme"

    code, out, _ = create(capsys, "--name", "reader", "--scopes", "read", "--file", str(path))
    assert code == EXIT_OK
    [reader_key] = out.splitlines()
    ring = ApiKeyRing.from_file(path)
    assert ring.authenticate(f"Bearer {reader_key}", SCOPE_READ).name == "reader"
    with pytest.raises(AuthError, match="lacks the 'catalog:write' scope"):
        ring.authenticate(f"Bearer {reader_key}", SCOPE_CATALOG_WRITE)

    assert main(["keys", "list", "--file", str(path)]) == EXIT_OK
    assert capsys.readouterr().out.splitlines() == ["acme\tcatalog:write,read\tdefault", "reader\tread\tdefault"]

    code, out, _ = create(capsys, "--name", "globex-app", "--scopes", "read", "--tenant", "globex", "--file",
                          str(path))
    assert code == EXIT_OK
    [tenant_key] = out.splitlines()
    assert ApiKeyRing.from_file(path).authenticate(f"Bearer {tenant_key}", SCOPE_READ).tenant == "globex"
    assert main(["keys", "create", "--name", "bad", "--scopes", "read", "--tenant", "No Such!"]) == EXIT_USAGE


def test_without_a_file_the_hash_line_is_printed_and_nothing_is_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = create(capsys, "--name", "ops", "--scopes", "read")
    assert code == EXIT_OK
    key, record = out.splitlines()
    assert key not in record
    (tmp_path / "keys.jsonl").write_text(record + "\n")  # what an operator pastes into the Secret
    assert ApiKeyRing.from_file(tmp_path / "keys.jsonl").authenticate(f"Bearer {key}", SCOPE_READ).name == "ops"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keys.jsonl"]


@pytest.mark.parametrize(("args", "message"), [
    (["--name", "x", "--scopes", "read,admin"], "unknown scopes ['admin']"),
    (["--name", "x", "--scopes", " , "], "--scopes is empty"),
    (["--name", "two words", "--scopes", "read"], "--name must be a non-empty word"),
])
def test_bad_input_exits_2_with_one_line(args: list[str], message: str, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "keys.jsonl"
    code, out, err = create(capsys, *args, "--file", str(path))
    assert code == EXIT_USAGE and out == ""
    assert message in err and len(err.strip().splitlines()) == 1
    assert not path.exists()


def test_unwritable_file_duplicate_name_and_broken_file_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = create(capsys, "--name", "x", "--scopes", "read", "--file", str(tmp_path / "no-dir" / "k"))
    assert code == EXIT_USAGE and out == "" and "cannot write key file" in err

    path = tmp_path / "keys.jsonl"
    assert create(capsys, "--name", "x", "--scopes", "read", "--file", str(path))[0] == EXIT_OK
    before = path.read_text()
    code, out, err = create(capsys, "--name", "x", "--scopes", "read", "--file", str(path))
    assert code == EXIT_USAGE and out == "" and "already holds a key named 'x'" in err
    assert path.read_text() == before

    path.write_text("not json\n")
    code, _, err = create(capsys, "--name", "y", "--scopes", "read", "--file", str(path))
    assert code == EXIT_USAGE and "cannot read key file" in err
    assert main(["keys", "list", "--file", str(tmp_path / "absent.jsonl")]) == EXIT_USAGE
    assert "does not exist" in capsys.readouterr().err


def test_catalog_stats_while_a_gateway_holds_the_embedded_store_is_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: a CollectionBusyError traceback. The store is held the way a running gateway holds it."""
    from musechat.contracts.catalog import TRACKS_COLLECTION
    from musechat.store import CollectionSpec
    from musechat.store.edge import EdgeStore

    holder = EdgeStore(tmp_path / "edge")
    try:
        holder.create_collection(CollectionSpec(name=TRACKS_COLLECTION, vectors={"music": 4}))
        monkeypatch.setenv("MUSECHAT_STORE_BACKEND", "edge")
        monkeypatch.setenv("MUSECHAT_STORE_PATH", str(tmp_path / "edge"))
        assert main(["catalog", "stats"]) == 1
        err = capsys.readouterr().err
        assert err.startswith("musechat: error: collection_busy:") and len(err.strip().splitlines()) == 1, err
    finally:
        holder.close()
