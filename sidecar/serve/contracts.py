"""The contract registry as the control room shows it: names, versions and each version's sha256.

Reads ``contracts.path`` through :mod:`sidecar.contract.registry` (``<dir>/<name>/v<N>.json``), verifying each
file's hash. Contract files are immutable, so what a file says is cached by its (mtime, size) and read
again only when those change; the reads run in a worker thread, off the event loop. A file that fails
verification is listed with its ``error`` rather than hidden or fatal.
"""

from __future__ import annotations

import asyncio
import os
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from sidecar.contract import registry
from sidecar.errors import ConfigurationError, SidecarError

__all__ = ["ContractEntry", "ContractIndex", "ContractVersion"]


class ContractVersion(BaseModel):
    """One saved version: its number, sha256 and creation time (``None`` with ``error`` when unreadable)."""

    model_config = ConfigDict(frozen=True)

    version: int
    sha256: str | None
    created_at: datetime | None
    error: str | None = None


class ContractEntry(BaseModel):
    """A contract of the registry and its versions, oldest first."""

    model_config = ConfigDict(frozen=True)

    name: str
    latest_version: int
    versions: list[ContractVersion]


class ContractIndex:
    """Names, versions and hashes of the contracts under ``path``.

    Examples
    --------
    >>> import tempfile
    >>> index = ContractIndex(tempfile.mkdtemp())
    >>> index.entries(), index.entry("churn_inputs")
    ([], None)
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._cache: dict[Path, tuple[tuple[int, int], ContractVersion]] = {}

    def names(self) -> list[str]:
        """Contracts with at least one saved version, by name."""
        if not self.path.is_dir():
            return []
        return sorted(p.name for p in self.path.iterdir()
                      if p.is_dir() and registry.NAME_RE.match(p.name) and registry.versions(self.path, p.name))

    def entry(self, name: str) -> ContractEntry | None:
        """Contract ``name`` with its versions, or ``None`` (also for a name that cannot be a contract's)."""
        try:
            registry.check_name(name)
        except ConfigurationError:
            return None
        numbers = registry.versions(self.path, name)
        if not numbers:
            return None
        return ContractEntry(name=name, latest_version=numbers[-1],
                             versions=[self._version(name, v) for v in numbers])

    def entries(self) -> list[ContractEntry]:
        """Every contract, by name."""
        return [e for e in (self.entry(n) for n in self.names()) if e is not None]

    async def list(self) -> list[ContractEntry]:
        """:meth:`entries`, read in a worker thread."""
        return await asyncio.to_thread(self.entries)

    async def get(self, name: str) -> ContractEntry | None:
        """:meth:`entry`, read in a worker thread."""
        return await asyncio.to_thread(self.entry, name)

    def _version(self, name: str, version: int) -> ContractVersion:
        path = self.path / name / f"v{version}.json"
        try:
            st = path.stat()
        except OSError as exc:
            return ContractVersion(version=version, sha256=None, created_at=None, error=f"unreadable: {exc.strerror}")
        stamp = (st.st_mtime_ns, st.st_size)
        cached = self._cache.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            raw = registry.read_verified(path)
            found = ContractVersion(version=version, sha256=raw["sha256"], created_at=raw["created_at"])
        except (SidecarError, OSError) as exc:
            found = ContractVersion(version=version, sha256=None, created_at=None,
                                    error=str(exc).replace(os.fspath(self.path), "<contracts>"))
        self._cache[path] = (stamp, found)
        return found
