"""``sidecar validate``: validate a data file against a saved contract and print the report."""

from __future__ import annotations

import argparse
from pathlib import Path

from sidecar.cli import EXIT_FAILED, EXIT_OK, Console, add_command
from sidecar.cli_contract import resolve_contract
from sidecar.cli_data import format_option, read_data
from sidecar.contract import DataContract
from sidecar.io import check_source, hints_from_specs
from sidecar.report import Status

__all__ = ["register"]

_FAIL_ON = {"warning": Status.WARNING, "critical": Status.CRITICAL}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``validate``."""
    validate = add_command(
        subparsers, "validate", help="validate a data file against a contract",
        description="Validate a data file against a contract and print the report. Exits 0 when the report "
        "status is below --fail-on, 1 when it reaches it, 2 on usage or input errors.",
        epilog="example:\n  sidecar validate --contract contracts/churn_inputs --data today.csv --fail-on warning",
    )
    validate.add_argument("--contract", required=True, help="DIR/NAME (newest version) or DIR/NAME/vN.json")
    validate.add_argument("--data", required=True, metavar="FILE",
                          help="data to validate (formats as for 'contract create'; '-' for standard input)")
    validate.add_argument("--json", action="store_true", help="print the report as JSON instead of text")
    validate.add_argument("--fail-on", choices=list(_FAIL_ON), default="critical",
                          help="exit 1 when the report status reaches this (default: %(default)s)")
    validate.add_argument("--out", metavar="FILE", help="also write the JSON report to FILE")
    validate.add_argument("--show-healthy", action="store_true", help="list healthy rows in the text report too")
    format_option(validate)
    validate.set_defaults(handler=_validate)


def _validate(args: argparse.Namespace, console: Console) -> int:
    path = resolve_contract(args.contract)
    check_source(args.data, args.format)  # a missing file or unknown format fails before any work
    with console.step(f"loading contract {args.contract}") as step:
        contract = DataContract.from_file(path)
        step.detail = f"{contract.name} v{contract.version}, {len(contract.columns)} columns"
    df = read_data(console, args.data, args.format, hints_from_specs(contract.reference.specs))
    with console.step("validating") as step:
        report = contract.validate(df)
        bad = {s: len(report.by_status(s)) for s in (Status.WARNING, Status.CRITICAL)}
        step.detail = (f"{report.status.value} ({bad[Status.WARNING]} warning, {bad[Status.CRITICAL]} critical "
                       f"of {len(report.results)} results)")
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(report.to_json(indent=2) + "\n", encoding="utf-8")
        console.note(f"wrote {out}")
    console.print(report.to_json(indent=2) if args.json else report.to_text(show_healthy=args.show_healthy))
    return EXIT_FAILED if report.status.severity >= _FAIL_ON[args.fail_on].severity else EXIT_OK
