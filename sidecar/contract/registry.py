"""Where contract files live: ``<dir>/<name>/v<N>.json``, versions numbered from 1, never overwritten.

A contract is named the same way everywhere (the SDK's ``DataContract.from_path``, ``sidecar run``'s
``inputs.contract``, ``sidecar contract show|versions``, ``sidecar validate``): ``DIR/NAME`` is the newest
version of contract ``NAME`` saved under ``DIR``, and ``DIR/NAME/vN.json`` is one version.
:func:`resolve_contract` is that rule, the one resolver they all use.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sidecar.contract.fileformat import FORMAT_VERSION, ContractFile, content_hash
from sidecar.errors import ConfigurationError, ContractFileError, ContractNotFoundError

__all__ = [
    "NAME_RE",
    "check_name",
    "contract_folder",
    "latest_version",
    "read_file",
    "read_verified",
    "resolve_contract",
    "resolve_path",
    "versions",
    "write_new_version",
]

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_VERSION_RE = re.compile(r"^v([0-9]+)\.json$")


def check_name(name: str) -> str:
    """``name`` if it is usable as a folder name, else :class:`ConfigurationError`."""
    if not isinstance(name, str) or not NAME_RE.match(name) or name.endswith(".json"):
        raise ConfigurationError(
            f"contract name {name!r} must start with a letter or digit, hold only letters, digits, '_', '.', '-' "
            "and not end in .json"
        )
    return name


def versions(directory: str | os.PathLike[str], name: str) -> list[int]:
    """Saved versions of contract ``name`` under ``directory``, ascending."""
    folder = Path(directory) / name
    if not folder.is_dir():
        return []
    found = (_VERSION_RE.match(p.name) for p in folder.iterdir())
    return sorted(int(m.group(1)) for m in found if m)


def latest_version(directory: str | os.PathLike[str], name: str) -> int | None:
    """The newest saved version, or ``None``."""
    v = versions(directory, name)
    return v[-1] if v else None


def resolve_path(directory: str | os.PathLike[str], name: str, version: int | None = None) -> Path:
    """The file of ``name`` at ``version`` (newest when ``None``); :class:`ContractNotFoundError` if absent."""
    have = versions(directory, name)
    if not have:
        raise ContractNotFoundError(f"no contract {name!r} under {os.fspath(directory)!r}")
    if version is None:
        version = have[-1]
    if version not in have:
        raise ContractNotFoundError(f"contract {name!r} has no version {version}; saved versions: {have}")
    return Path(directory) / name / f"v{version}.json"


def contract_folder(spec: str | os.PathLike[str]) -> tuple[Path, str]:
    """``(DIR, NAME)`` of the contract ``spec`` names: ``DIR/NAME``, or one of its files ``DIR/NAME/vN.json``.

    A *directory* named like a file (``x.json``) is no contract: names never end in ``.json``
    (:func:`check_name`), so it raises :class:`ContractNotFoundError` saying so (with the contracts it holds,
    when it is a contracts directory), rather than being read as a file or as a name.
    """
    p = Path(spec)
    if p.suffix == ".json":
        if not p.is_dir():  # a version file names its contract too
            return p.parent.parent, check_name(p.parent.name)
        raise ContractNotFoundError(_not_found(p, f"{os.fspath(p)!r} is a directory, not a contract file, and "
                                                  "no contract is named so (names never end in .json)"))
    return p.parent, check_name(p.name)


def resolve_contract(spec: str | os.PathLike[str]) -> Path:
    """The contract file ``spec`` names: ``DIR/NAME`` means the newest version, ``DIR/NAME/vN.json`` that
    file. Raises :class:`ContractNotFoundError` with a hint when there is none.

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> (root / "x.json").mkdir()
    >>> resolve_contract(root / "x.json")
    Traceback (most recent call last):
    ...
    sidecar.errors.ContractNotFoundError: '...x.json' is a directory, not a contract file, and no contract ...
    """
    p = Path(spec)
    if p.suffix == ".json" and not p.is_dir():
        if not p.is_file():
            raise ContractNotFoundError(f"contract file {os.fspath(p)!r} does not exist")
        return p
    directory, name = contract_folder(p)
    if not versions(directory, name):
        raise ContractNotFoundError(_not_found(p, f"no contract {name!r} under {os.fspath(directory)!r} "
                                                  f"(no {os.fspath(p / 'v<N>.json')!r} files)"))
    return resolve_path(directory, name)


def _not_found(p: Path, message: str) -> str:
    """``message``, or a hint naming the contracts in ``p`` when it is a contracts directory."""
    if p.is_dir():
        names = sorted(c.name for c in p.iterdir() if c.is_dir() and versions(p, c.name))
        if names:
            return (f"{os.fspath(p)!r} is a contracts directory, not a contract; pass DIR/NAME, "
                    f"e.g. {os.fspath(p / names[0])!r} (it holds {', '.join(names)})")
    return message


def read_file(path: str | os.PathLike[str]) -> ContractFile:
    """Parse and verify a contract file (see :func:`read_verified`)."""
    return ContractFile.model_validate(read_verified(path))


def read_verified(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse and verify a contract file; returns the raw JSON object (types exactly as written).

    Raises
    ------
    ContractFileError
        Not JSON, unknown ``format_version``, fields missing or wrong, or the sha256 does not match.
    """
    p = Path(path)
    try:
        raw: Any = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ContractNotFoundError(f"contract file {os.fspath(p)!r} does not exist") from None
    except IsADirectoryError:
        raise ContractFileError(f"{os.fspath(p)!r} is a directory, not a contract file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ContractFileError(f"{p}: not a JSON contract file: {exc}") from exc
    if not isinstance(raw, dict):
        raise ContractFileError(f"{p}: expected a JSON object at the top level, got {type(raw).__name__}")
    fv = raw.get("format_version")
    if fv != FORMAT_VERSION:
        raise ContractFileError(f"{p}: unknown format_version {fv!r}; this version of sidecar reads {FORMAT_VERSION}")
    expected = raw.get("sha256")
    actual = content_hash(raw)
    if expected != actual:
        raise ContractFileError(
            f"{p}: sha256 mismatch (file says {expected}, content hashes to {actual}); the file was modified"
        )
    try:
        ContractFile.model_validate(raw)
    except ValidationError as exc:
        raise ContractFileError(f"{p}: invalid contract file: {exc}") from exc
    return raw


def write_new_version(directory: str | os.PathLike[str], name: str, body: dict[str, Any]) -> Path:
    """Write ``body`` as the next version, read-only, failing rather than overwriting an existing file."""
    folder = Path(directory) / name
    folder.mkdir(parents=True, exist_ok=True)
    while True:
        version = (latest_version(directory, name) or 0) + 1
        doc = {**body, "version": version}
        doc["sha256"] = content_hash(doc)
        path = folder / f"v{version}.json"
        text = json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
        try:
            # "x" makes a concurrent writer of the same version lose the race instead of overwriting.
            with open(path, "x", encoding="utf-8") as fh:
                fh.write(text)
        except FileExistsError:
            continue
        path.chmod(0o444)
        return path
