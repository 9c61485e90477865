"""``sidecar contract diff DIR NAME [--from vN] [--to vM] [--json]``: what changed between two versions.

Registered in the ``contract`` group by :mod:`sidecar.cli.contract`; the comparison itself is
:meth:`DataContract.diff` (:mod:`sidecar.contract.diff`). Without ``--from``/``--to`` the newest two
versions are compared; a contract with one version has nothing to compare (exit 2).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from sidecar.cli import EXIT_OK, CliError, Console, add_command
from sidecar.contract import DataContract, registry

__all__ = ["register_diff"]


def register_diff(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``diff`` to the ``contract`` subcommands."""
    diff = add_command(
        sub, "diff", help="compare two versions of a contract: columns, checks, settings and reference drift",
        epilog="example:\n  sidecar contract diff contracts churn_inputs --from v1 --to v3",
    )
    diff.add_argument("directory", metavar="DIR", help="contracts directory")
    diff.add_argument("name", metavar="NAME", help="contract name")
    diff.add_argument("--from", dest="from_version", type=_version, metavar="vN",
                      help="older version (default: the one before --to)")
    diff.add_argument("--to", dest="to_version", type=_version, metavar="vM",
                      help="newer version (default: the newest)")
    diff.add_argument("--json", action="store_true", help="machine-readable JSON instead of text")
    diff.set_defaults(handler=_diff)


def _version(text: str) -> int:
    match = re.fullmatch(r"[vV]?(\d+)", text.strip())
    if not match or int(match.group(1)) < 1:
        raise argparse.ArgumentTypeError(f"expected a version such as v2 or 2, got {text!r}")
    return int(match.group(1))


def _diff(args: argparse.Namespace, console: Console) -> int:
    name = registry.check_name(args.name)
    found = registry.versions(args.directory, name)
    if not found:
        registry.resolve_contract(Path(args.directory) / name)  # raises ContractNotFoundError, with a hint
    for flag, v in (("--from", args.from_version), ("--to", args.to_version)):
        if v is not None and v not in found:
            raise CliError(f"{flag} v{v}: contract {name!r} has versions {_listing(found)}")
    new = args.to_version if args.to_version is not None else found[-1]
    if args.from_version is not None:
        old = args.from_version
    else:
        older = [v for v in found if v < new]
        if not older:
            what = "only one version" if len(found) == 1 else f"no version before v{new}"
            raise CliError(f"contract {name!r} has {what} ({_listing(found)}); nothing to compare")
        old = older[-1]
    before = DataContract.load(args.directory, name, version=old)
    after = DataContract.load(args.directory, name, version=new)
    result = after.diff(before)
    console.print(result.to_json() if args.json else str(result))
    return EXIT_OK


def _listing(found: list[int]) -> str:
    return ", ".join(f"v{v}" for v in found)
