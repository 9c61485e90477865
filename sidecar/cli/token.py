"""``sidecar token create|list|revoke --config FILE``: the control room's API tokens.

``create`` prints the new token alone on the last line of stdout (so ``TOKEN=$(sidecar token create ... |
tail -n1)`` works); it is shown this once, since the store keeps only a salted hash. Scopes nest:
``admin`` ⊇ ``write`` ⊇ ``read``. ``list`` shows every token's id, scope, name and dates, never a secret;
``revoke ID`` ends a token at once for every control room sharing the store.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

from sidecar.cli import EXIT_OK, CliError, Console, add_command, one_line
from sidecar.config.serve import ServeSettings
from sidecar.errors import SidecarError
from sidecar.store.base import SCOPE_RANK, ControlStore, TokenInfo

__all__ = ["register"]

T = TypeVar("T")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``token`` and its ``create``, ``list`` and ``revoke``."""
    token = add_command(subparsers, "token", help="create, list and revoke the control room's API tokens",
                        epilog="the store is the one of --config (store.url), or SIDECAR_STORE__URL")
    actions = token.add_subparsers(title="actions", dest="action", required=True, metavar="ACTION")

    create = add_command(actions, "create", help="create a token; prints it alone on the last line of stdout")
    _config_option(create)
    create.add_argument("--scope", required=True, choices=sorted(SCOPE_RANK, key=SCOPE_RANK.__getitem__),
                        help="read: GET the API; write: also POST reports and metrics; admin: everything")
    create.add_argument("--name", help="what the token is for (shown by list), e.g. churn-pods")
    create.set_defaults(handler=_create)

    listing = add_command(actions, "list", help="list every token (id, scope, name, created, revoked)")
    _config_option(listing)
    listing.add_argument("--json", action="store_true", help="one JSON object per line instead of a table")
    listing.set_defaults(handler=_list)

    revoke = add_command(actions, "revoke", help="revoke a token by its id (see list)")
    _config_option(revoke)
    revoke.add_argument("id", help="the token's id (the 16 hex digits after mhs_)")
    revoke.set_defaults(handler=_revoke)


def _config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", "-c", metavar="FILE", help="YAML settings of the control room (serve.yaml)")


def _with_store(args: argparse.Namespace, work: Callable[[ControlStore], Awaitable[T]]) -> T:
    """Open the store of ``--config``, run ``work`` on it, close it."""
    settings = ServeSettings.load(args.config)  # ConfigurationError -> exit 2 with one line
    from sidecar.store.sql import SqlStore

    async def main() -> T:
        async with SqlStore(settings.store.url) as store:
            return await work(store)

    try:
        return asyncio.run(main())
    except SidecarError:
        raise
    except Exception as exc:  # the database's own errors (unreachable, sqlalchemy, asyncpg): one line naming it
        from sidecar.serve.runner import store_label

        raise CliError(f"the store at {store_label(settings.store.url)} failed: {type(exc).__name__}: "
                       f"{one_line(exc)}") from exc


def _create(args: argparse.Namespace, console: Console) -> int:
    secret, info = _with_store(args, lambda store: store.create_token(args.scope, args.name))
    console.note(f"created token {info.id} (scope {info.scope}{', name ' + info.name if info.name else ''}); "
                 "it is shown only now: the store keeps a salted hash")
    console.print(secret)
    return EXIT_OK


def _list(args: argparse.Namespace, console: Console) -> int:
    tokens = _with_store(args, lambda store: store.list_tokens())
    if args.json:
        for info in tokens:
            console.print(json.dumps(info.model_dump(mode="json"), sort_keys=True))
        return EXIT_OK
    rows = [("ID", "SCOPE", "NAME", "CREATED", "REVOKED"), *(_row(t) for t in tokens)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        console.print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
    return EXIT_OK


def _row(info: TokenInfo) -> tuple[str, str, str, str, str]:
    def stamp(t: datetime | None) -> str:
        return "-" if t is None else t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")

    return info.id, info.scope, info.name or "-", stamp(info.created_at), stamp(info.revoked_at)


def _revoke(args: argparse.Namespace, console: Console) -> int:
    found = _with_store(args, lambda store: store.revoke_token(args.id))
    if not found:
        raise CliError(f"no token with id {args.id!r} (sidecar token list shows them)")
    console.note(f"revoked token {args.id}")
    return EXIT_OK
