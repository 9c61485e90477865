"""``sidecar validate``: validate a data file against a saved contract and print the report; with
``--publish URL --model M``, also send it to the control room (``sidecar serve``) as a batch report."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from sidecar.cli import EXIT_FAILED, EXIT_OK, CliError, Console, add_command
from sidecar.cli.contract import resolve_contract
from sidecar.cli.inputs import input_options, read_data, streamable, validate_data
from sidecar.contract import DataContract
from sidecar.io import check_source, hints_from_specs
from sidecar.report.model import Status, ValidationReport

__all__ = ["register"]

_FAIL_ON = {"warning": Status.WARNING, "critical": Status.CRITICAL}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``validate``."""
    validate = add_command(
        subparsers, "validate", help="validate a data file against a contract",
        description="Validate a data file against a contract and print the report. Exits 0 when the report "
        "status is below --fail-on, 1 when it reaches it, 2 on usage or input errors.",
        epilog="examples:\n  sidecar validate --contract contracts/churn_inputs --data today.csv --fail-on warning\n"
        "  sidecar validate --contract contracts/churn_inputs --data today.csv --publish http://control:8080 "
        "--model churn --token $TOKEN",
    )
    validate.add_argument("--contract", required=True, help="DIR/NAME (newest version) or DIR/NAME/vN.json")
    validate.add_argument("--data", required=True, metavar="FILE",
                          help="data to validate (formats as for 'contract create'; '-' for standard input)")
    # --json keeps its old meaning without an argument (JSON on stdout) and takes FILE like --html; --out is
    # kept as the older spelling of --json FILE.
    validate.add_argument("--json", nargs="?", const="-", metavar="FILE",
                          help="without FILE (or with '-'): print the report as JSON instead of text; with FILE: "
                          "write the JSON report to FILE and print the text report")
    validate.add_argument("--fail-on", choices=list(_FAIL_ON), default="critical",
                          help="exit 1 when the report status reaches this (default: %(default)s)")
    validate.add_argument("--out", metavar="FILE", help="same as --json FILE (kept for existing scripts)")
    validate.add_argument("--html", metavar="FILE",
                          help="also write a self-contained HTML report (charts per column, works offline) to FILE")
    validate.add_argument("--show-healthy", action="store_true", help="list healthy rows in the text report too")
    validate.add_argument("--publish", metavar="URL",
                          help="also send the report to the control room at URL (sidecar serve; needs --model)")
    validate.add_argument("--model", help="the model the report belongs to (with --publish)")
    validate.add_argument("--token", help="write token for --publish (default: $SIDECAR_PUBLISH__TOKEN)")
    input_options(validate)
    validate.set_defaults(handler=_validate)


def _validate(args: argparse.Namespace, console: Console) -> int:
    outputs = _output_files(args)  # a bad output path fails before any work, and nothing is written
    token = _publish_options(args)
    path = resolve_contract(args.contract)
    check_source(args.data, args.format)  # a missing file or unknown format fails before any work
    with console.step(f"loading contract {args.contract}") as step:
        contract = DataContract.from_file(path)
        step.detail = f"{contract.name} v{contract.version}, {len(contract.columns)} columns"
    # Chunked (data larger than memory, same report) unless a custom check may want the rows themselves.
    if streamable(args.data, args.format) and "custom" not in contract.settings:
        report = validate_data(console, args, contract)
    else:
        df = read_data(console, args.data, args.format, hints_from_specs(contract.reference.specs),
                       sep=args.sep, encoding=args.encoding)
        report = contract.validate(df)
    with console.step("validating") as step:
        bad = {s: len(report.by_status(s)) for s in (Status.WARNING, Status.CRITICAL)}
        step.detail = (f"{report.status.value} ({bad[Status.WARNING]} warning, {bad[Status.CRITICAL]} critical "
                       f"of {len(report.results)} results)")
    _write_outputs(report, outputs, console)
    json_stdout = args.json == "-"
    console.print(report.to_json(indent=2) if json_stdout else report.to_text(show_healthy=args.show_healthy))
    if args.publish:
        with console.step(f"publishing to {args.publish}") as step:
            published = report.publish(args.publish, token=token, model=args.model)
            step.detail = f"report {published.id} ({'stored' if published.created else 'stored already'})"
    return EXIT_FAILED if report.status.severity >= _FAIL_ON[args.fail_on].severity else EXIT_OK


def _publish_options(args: argparse.Namespace) -> str | None:
    """Check --publish, --model and --token before any work; the token to send (--token, else the
    ``publish.token`` setting from the environment)."""
    if args.publish is None:
        if args.model is not None or args.token is not None:
            raise CliError("--model and --token go with --publish URL")
        return None
    if not args.publish.startswith(("http://", "https://")):
        raise CliError(f"--publish {args.publish}: not an http:// or https:// URL (the control room's address)")
    if not args.model:
        raise CliError("--publish needs --model M: the model the report belongs to")
    if args.token is not None:
        return str(args.token)
    from sidecar.config import StoreLocation

    return StoreLocation.load_publish().bearer()


def _output_files(args: argparse.Namespace) -> dict[Path, str]:
    """``{path: "json" | "html"}`` from --json FILE, --out FILE and --html FILE, each checked writable."""
    wanted = [(flag, value, kind) for flag, value, kind in
              (("--json", args.json, "json"), ("--out", args.out, "json"), ("--html", args.html, "html"))
              if value not in (None, "-")]
    outputs: dict[Path, str] = {}
    for flag, value, kind in wanted:
        out = Path(value)
        if outputs.get(out, kind) != kind:
            raise CliError(f"{flag} {value}: the same file is also given for the {outputs[out].upper()} report")
        _check_writable(flag, out)
        outputs[out] = kind
    return outputs


def _check_writable(flag: str, out: Path) -> None:
    if out.is_dir():
        raise CliError(f"{flag} {out}: is a folder; give a file name")
    existing = next(p for p in (out.parent, *out.parent.parents) if p.exists())
    if not existing.is_dir():
        raise CliError(f"{flag} {out}: {existing} is not a folder")
    target = out if out.exists() else existing
    if not os.access(target, os.W_OK):
        raise CliError(f"{flag} {out}: permission denied on {target}")


def _write_outputs(report: ValidationReport, outputs: dict[Path, str], console: Console) -> None:
    # Lazily: the HTML page imports pandas, which `sidecar run` (same parser) must never load.
    from sidecar.report.html import render_html

    # Everything is rendered before the first write, so a rendering error leaves no file behind.
    texts = {out: report.to_json(indent=2) + "\n" if kind == "json" else render_html(report)
             for out, kind in outputs.items()}
    for out, text in texts.items():
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        console.note(f"wrote {out}")
