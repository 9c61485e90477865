"""``sidecar serve`` and ``sidecar token create|list|revoke``: parsing, the token alone on the last line, and one
line for every mistake. Tokens are made in a real SQLite store."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from cli_helpers import assert_one_line_error, run

from sidecar.cli import build_parser
from sidecar.store.sql import SqlStore

pytestmark = pytest.mark.timeout(60)

TOKEN = re.compile(r"^mhs_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "serve.yaml"
    path.write_text(f'store: {{url: "sqlite:///{tmp_path}/control.sqlite"}}\n', encoding="utf-8")
    return path


def check(url: str, token: str) -> str | None:
    async def main() -> str | None:
        async with SqlStore(url) as store:
            info = await store.check_token(token)
            return None if info is None else info.scope

    return asyncio.run(main())


def test_the_parsers_take_the_documented_arguments() -> None:
    parser = build_parser()
    args = parser.parse_args(["serve", "--config", "serve.yaml", "--log-level", "DEBUG"])
    assert (args.config, args.log_level) == ("serve.yaml", "DEBUG")
    args = parser.parse_args(["token", "create", "--config", "s.yaml", "--scope", "write", "--name", "pods"])
    assert (args.action, args.scope, args.name) == ("create", "write", "pods")
    assert parser.parse_args(["token", "revoke", "-c", "s.yaml", "abc"]).id == "abc"
    assert parser.parse_args(["token", "list", "--config", "s.yaml", "--json"]).json is True


@pytest.mark.parametrize("argv", [["token", "create", "--config", "s.yaml", "--scope", "root"],
                                  ["token", "create", "--config", "s.yaml"], ["token"]])
def test_bad_token_arguments_are_usage_errors(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2 and "usage:" in err


def test_create_prints_the_token_alone_on_the_last_line(capsys: pytest.CaptureFixture[str], config: Path,
                                                        tmp_path: Path) -> None:
    code, out, err = run(capsys, "token", "create", "--config", str(config), "--scope", "write", "--name", "pods")
    assert code == 0
    token = out.splitlines()[-1]
    assert TOKEN.match(token), out
    assert token not in err and "scope write" in err
    assert check(f"sqlite:///{tmp_path}/control.sqlite", token) == "write"


def test_quiet_create_prints_only_the_token(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    code, out, err = run(capsys, "-q", "token", "create", "--config", str(config), "--scope", "read")
    assert code == 0 and TOKEN.match(out.strip()) and out.count("\n") == 1 and err == ""


def test_list_shows_ids_and_scopes_never_secrets(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    _, out, _ = run(capsys, "token", "create", "--config", str(config), "--scope", "admin", "--name", "ops")
    token = out.splitlines()[-1]
    code, listing, _ = run(capsys, "token", "list", "--config", str(config))
    token_id = token.split("_", 2)[1]
    assert code == 0 and token.split("_", 2)[2] not in listing
    header, row = listing.splitlines()
    assert header.split() == ["ID", "SCOPE", "NAME", "CREATED", "REVOKED"]
    assert row.split()[:3] == [token_id, "admin", "ops"] and row.split()[-1] == "-"
    _, as_json, _ = run(capsys, "token", "list", "--config", str(config), "--json")
    assert '"scope": "admin"' in as_json and token.split("_", 2)[2] not in as_json


def test_revoke_ends_a_token(capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path) -> None:
    _, out, _ = run(capsys, "token", "create", "--config", str(config), "--scope", "read")
    token = out.splitlines()[-1]
    code, _, err = run(capsys, "token", "revoke", "--config", str(config), token.split("_", 2)[1])
    assert code == 0 and "revoked" in err
    assert check(f"sqlite:///{tmp_path}/control.sqlite", token) is None
    _, listing, _ = run(capsys, "token", "list", "--config", str(config))
    assert listing.splitlines()[1].split()[-1].endswith("Z")  # the revocation time


def test_revoking_an_unknown_id_is_one_line(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    code, _, err = run(capsys, "token", "revoke", "--config", str(config), "0123456789abcdef")
    assert code == 2
    assert_one_line_error(err, "no token with id '0123456789abcdef'")


@pytest.mark.parametrize(("text", "fragment"), [
    ('store: {url: "sqlite:///relative.sqlite"}\n', "needs an absolute path"),
    ('store: {url: "mysql://db/x"}\n', "unsupported database"),
    ("store: {url: ''}\n", "store.url: String should have at least 1 character"),
])
def test_a_bad_store_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str,
                                 fragment: str) -> None:
    path = tmp_path / "serve.yaml"
    path.write_text(text, encoding="utf-8")
    for argv in (["token", "list", "--config", str(path)], ["serve", "--config", str(path)]):
        code, _, err = run(capsys, *argv)
        assert code == 2
        assert_one_line_error(err, fragment)


def test_an_unreachable_database_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "serve.yaml"
    # Nothing listens on port 1.
    path.write_text('store: {url: "postgresql+asyncpg://mh:hunter2@127.0.0.1:1/mh"}\n', encoding="utf-8")
    code, _, err = run(capsys, "token", "list", "--config", str(path))
    assert code == 2
    assert_one_line_error(err, "127.0.0.1:1")
    assert "hunter2" not in err
