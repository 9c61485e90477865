"""``sidecar contract create|show|versions``: contracts on the command line.

Contracts are named as everywhere else in sidecar: ``DIR/NAME`` is the newest version of contract ``NAME``
saved under ``DIR``, and ``DIR/NAME/vN.json`` is one version. Data files are read by :mod:`sidecar.io`;
when validating, the contract's column types steer how a text file is typed (see
:func:`sidecar.io.hints_from_specs`), so the current data is read the way the reference was.
"""

from __future__ import annotations

import argparse
import json
import math
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sidecar.checks import display_order, settings_key
from sidecar.cli import EXIT_OK, CliError, Console, add_command, one_line
from sidecar.cli.contract_diff import register_diff
from sidecar.cli.inputs import (
    create_contract,
    input_options,
    is_datetime,
    name_list,
    positive_int,
    read_data,
    streamable,
)
from sidecar.contract import DataContract, registry
from sidecar.contract.registry import resolve_contract
from sidecar.contract.specfile import read_spec
from sidecar.io import ReadHints, check_source
from sidecar.stats.column import ColumnProfile
from sidecar.stats.kinds import ColumnKind
from sidecar.stats.noise import FALSE_ALARM

__all__ = ["contract_summary", "register", "render_summary", "resolve_contract"]

#: Categories listed per column by ``contract show``.
TOP_CATEGORIES = 3


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``contract`` (with ``create``, ``show``, ``versions``)."""
    contract = add_command(subparsers, "contract", help="create and inspect data contracts")
    sub = contract.add_subparsers(title="contract commands", dest="contract_command", required=True,
                                  metavar="COMMAND")

    create = add_command(
        sub, "create", help="learn a contract from reference data and save it as a new version",
        epilog="example:\n  sidecar contract create --name churn_inputs --reference train.parquet --out contracts",
    )
    create.add_argument("--name", help="contract name (letters, digits, '_', '.', '-'); optional with a --spec "
                        "that names the contract")
    create.add_argument("--spec", metavar="FILE", help="contract spec (.yaml/.yml/.json): which checks, methods "
                        "and thresholds apply to which columns (schemas/spec.schema.json)")
    create.add_argument("--reference", required=True, metavar="FILE",
                        help="reference data: .csv, .tsv, .parquet or .jsonl, optionally .gz/.bz2/.xz/.zst; "
                        "'-' reads standard input (needs --format)")
    create.add_argument("--out", default="contracts", metavar="DIR",
                        help="contracts directory; the file is DIR/NAME/vN.json (default: %(default)s)")
    create.add_argument("--columns", type=name_list, metavar="A,B", help="keep only these columns")
    create.add_argument("--bins", type=positive_int, metavar="N",
                        help="quantile bins per numeric column (default: the SDK's, 20)")
    create.add_argument("--parse-dates", type=name_list, default=[], metavar="A,B",
                        help="text columns to parse as datetimes (CSV, TSV and JSON have no datetime type)")
    input_options(create)
    create.set_defaults(handler=_create)

    show = add_command(sub, "show", help="print a contract's columns and checks")
    show.add_argument("contract", metavar="CONTRACT", help="DIR/NAME (newest version) or DIR/NAME/vN.json")
    show.add_argument("--json", action="store_true", help="machine-readable JSON instead of text")
    show.set_defaults(handler=_show)

    versions = add_command(sub, "versions", help="list the saved versions of a contract")
    versions.add_argument("contract", metavar="CONTRACT", help="DIR/NAME (or any of its DIR/NAME/vN.json)")
    versions.add_argument("--json", action="store_true", help="machine-readable JSON instead of text")
    versions.set_defaults(handler=_versions)

    register_diff(sub)



# -- handlers ---------------------------------------------------------------------------------------------
def _create(args: argparse.Namespace, console: Console) -> int:
    spec = read_spec(args.spec) if args.spec else None  # fail before reading a large file
    if spec is not None:
        spec.validate()
        args.name = args.name or spec.data.get("name")
    if not args.name:
        raise CliError("--name is required (or a --spec with `name:`)")
    registry.check_name(args.name)
    check_source(args.reference, args.format)
    hints = ReadHints(datetime_columns=dict.fromkeys(args.parse_dates))
    if spec is None and streamable(args.reference, args.format):
        # Chunked: data larger than memory gives the contract reading it whole would.
        contract = create_contract(console, args, args.reference, hints, args.columns,
                                   **({"n_bins": args.bins} if args.bins is not None else {}))
        kinds = {n: p.spec.kind for n, p in contract.reference.columns.items()}
        unknown_dates = [c for c in args.parse_dates if c not in kinds]
        if unknown_dates:
            raise CliError(f"--parse-dates: no column(s) {unknown_dates} in {args.reference}")
        unparsed_dates = [c for c in args.parse_dates if kinds[c] is not ColumnKind.DATETIME]
        if unparsed_dates:
            raise CliError(f"--parse-dates: column(s) {unparsed_dates} do not parse as datetimes")
        return _save(args, console, contract)
    df = read_data(console, args.reference, args.format, hints, columns=args.columns, sep=args.sep,
                   encoding=args.encoding)
    unparsed_dates = [c for c in args.parse_dates if c in df.columns and not is_datetime(df[c])]
    unknown_dates = [c for c in args.parse_dates if c not in df.columns]
    if unknown_dates:
        raise CliError(f"--parse-dates: no column(s) {unknown_dates} in {args.reference}")
    if unparsed_dates:
        raise CliError(f"--parse-dates: column(s) {unparsed_dates} do not parse as datetimes")
    with console.step("profiling reference") as step:
        kwargs = {"n_bins": args.bins} if args.bins is not None else {}
        if spec is not None:
            if args.bins is not None:
                raise CliError("--bins and --spec: set `profile: {bins: N}` in the spec instead")
            contract = DataContract.from_spec(df, args.spec, name=args.name)
        else:
            contract = DataContract(args.name, df, **kwargs)
        step.detail = f"{len(contract.columns)} columns"
    return _save(args, console, contract)


def _save(args: argparse.Namespace, console: Console, contract: DataContract) -> int:
    before = registry.latest_version(args.out, args.name)
    path = contract.save(args.out)
    if before is not None and contract.version == before:
        console.note(f"unchanged: contract {args.name} v{before} already has this content")
    else:
        console.note(f"saved contract {args.name} v{contract.version}")
    console.print(str(path))
    return EXIT_OK


def _show(args: argparse.Namespace, console: Console) -> int:
    path = resolve_contract(args.contract)
    summary = contract_summary(DataContract.from_file(path), path)
    console.print(json.dumps(summary, indent=2, ensure_ascii=False) if args.json else render_summary(summary))
    return EXIT_OK


def _versions(args: argparse.Namespace, console: Console) -> int:
    directory, name = registry.contract_folder(args.contract)
    found = registry.versions(directory, name)
    if not found:
        resolve_contract(directory / name)  # raises, saying what is there instead
    rows: list[dict[str, Any]] = []
    for v in found:
        path = registry.resolve_path(directory, name, v)
        row: dict[str, Any] = {"version": v, "path": str(path), "newest": v == found[-1]}
        try:
            f = registry.read_file(path)
        except (ValueError, OSError) as exc:  # one bad file must not hide the others
            row["error"] = one_line(exc)
        else:
            row.update(created_at=f.created_at.isoformat(), sha256=f.sha256, rows=f.reference.n_rows,
                       columns=len(f.reference.columns))
        rows.append(row)
    if args.json:
        console.print(json.dumps({"name": name, "directory": str(directory), "versions": rows}, indent=2))
        return EXIT_OK
    console.print(f"{name} ({directory})")
    for r in rows:
        if "error" in r:
            console.print(f"  v{r['version']:<4} INVALID: {r['error']}")
            continue
        newest = "  (newest)" if r["newest"] else ""
        console.print(f"  v{r['version']:<4} {r['created_at']}  sha256 {r['sha256'][:12]}  "
                      f"{r['rows']:,} rows  {r['columns']} columns{newest}")
    return EXIT_OK


# -- contracts --------------------------------------------------------------------------------------------
# ``resolve_contract`` (DIR/NAME or DIR/NAME/vN.json -> the file) is sidecar.contract.registry's, the one
# resolver the SDK, ``sidecar run`` and every command share; it is handed on from here for the commands.


def contract_summary(contract: DataContract, path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """A JSON-able overview of a contract: identity, reference columns and configured checks.

    Datetime minimum and maximum are ISO 8601 strings; other numbers are plain numbers.
    """
    ref = contract.reference
    return {
        "name": contract.name,
        "version": contract.version,
        "sha256": contract.sha256,
        "created_at": contract.created_at.isoformat() if contract.created_at else None,
        "path": os.fspath(path) if path is not None else None,
        "reference_rows": ref.n_rows,
        "columns": [_column_summary(p) for p in ref.columns.values()],
        "checks": {check: {key: s.model_dump(mode="json") for key, s in per_col.items()}
                   for check, per_col in contract.settings.items()},
    }


def _column_summary(prof: ColumnProfile) -> dict[str, Any]:
    spec = prof.spec
    out: dict[str, Any] = {
        "name": spec.name, "kind": spec.kind.value, "dtype": spec.dtype, "count": prof.count,
        "nulls": prof.nulls, "null_rate": prof.nulls / prof.count if prof.count else None,
        "distinct": round(prof.distinct),
    }
    if spec.is_numeric:
        out["min"] = _number(prof.minimum, spec.kind, spec.dtype)
        out["max"] = _number(prof.maximum, spec.kind, spec.dtype)
    else:
        present = prof.count - prof.nulls
        ranked = sorted(prof.categories.items(), key=lambda kv: (-kv[1], repr(kv[0])))
        out["top"] = [{"value": v, "count": c, "share": c / present if present else None}
                      for v, c in ranked[:TOP_CATEGORIES]]
        out["categories"] = len(prof.categories)
    return out


def _number(x: float, kind: ColumnKind, dtype: str) -> float | str | None:
    if math.isnan(x):
        return None
    if kind is ColumnKind.DATETIME:
        ts = datetime.fromtimestamp(x, UTC)
        return (ts if "," in dtype else ts.replace(tzinfo=None)).isoformat()  # "datetime64[ns, UTC]" is zoned
    return int(x) if x.is_integer() and abs(x) < 2**53 else x


def render_summary(summary: dict[str, Any]) -> str:
    """The text form of :func:`contract_summary` (``sidecar contract show``)."""
    lines = [
        f"Contract {summary['name']} v{summary['version']}",
        f"  file:       {summary['path']}",
        f"  sha256:     {summary['sha256']}",
        f"  created:    {summary['created_at']}",
        f"  reference:  {summary['reference_rows']:,} rows, {len(summary['columns'])} columns",
        "",
        "Columns",
    ]
    table: list[tuple[str, ...]] = [("column", "kind", "dtype", "nulls", "min", "max / top values")]
    for c in summary["columns"]:
        nulls = f"{c['null_rate']:.2%}" if c["null_rate"] is not None else "-"
        if "top" in c:
            top = ", ".join(f"{v['value']!s} {v['share']:.1%}" for v in c["top"] if v["share"] is not None)
            more = c["categories"] - len(c["top"])
            lo, hi = "", top + (f" (+{more} more)" if more > 0 else "")
        else:
            lo, hi = _cell(c["min"]), _cell(c["max"])
        table.append((c["name"], c["kind"], c["dtype"], nulls, lo, hi))
    lines += _table(table)
    lines += ["", "Checks"]
    all_columns = [c["name"] for c in summary["columns"]]
    position = {name: i for i, name in enumerate(all_columns)}
    table = [("check", "columns", "settings")]
    # Display in the report's check order and the reference's column order, not the file's sorted keys.
    checks = sorted(summary["checks"].items(), key=lambda kv: display_order(kv[0])[:1])
    for check, per_key in checks:
        groups: dict[str, list[str]] = {}
        keys = {k: settings_key(check, k) for k in per_key}
        for key in sorted(per_key, key=lambda k: keys[k].sort_key(position)[:1]):
            column = "(table)" if keys[key].column is None else keys[key].feature
            groups.setdefault(_describe(per_key[key]), []).append(column)
        for described, cols in groups.items():
            shown = "all columns" if len(all_columns) > 1 and cols == all_columns else ", ".join(cols)
            table.append((check, shown, described))
    lines += _table(table)
    return "\n".join(lines)


def _describe(settings: dict[str, Any]) -> str:
    """``method=psi warn>0.1 crit>0.25``-style text of one check's settings."""
    parts = []
    for key, value in settings.items():
        if key in ("warning", "critical") or value is None or _default_false_alarm(key, value):
            continue
        if key == "rules":
            parts += [f"{'missing' if r['value'] is None else repr(r['value'])}: {_thresholds(r)}" for r in value]
            parts += [f"{k}={v}" for r in value[:1] for k, v in r.items() if k.startswith("false_alarm_")
                      and not _default_false_alarm(k, v)]
        elif key == "allowed":
            parts.append(f"allowed={len(value)} values")
        else:
            parts.append(f"{key}={value}")
    if settings.get("warning") is not None or settings.get("critical") is not None:
        parts.append(_thresholds(settings))
    return " ".join(parts)


def _default_false_alarm(key: str, value: Any) -> bool:
    return key.startswith("false_alarm_") and value == FALSE_ALARM[key.removeprefix("false_alarm_")]


def _thresholds(s: dict[str, Any]) -> str:
    return f"warn>{_cell(s.get('warning'))} crit>{_cell(s.get('critical'))}"


def _cell(x: Any) -> str:
    if x is None:
        return "-"
    return f"{x:.6g}" if isinstance(x, float) else str(x)


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]
