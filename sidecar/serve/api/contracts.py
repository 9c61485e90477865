"""``/api/v1/contracts``: the contract registry's names, versions and hashes (``contracts.path``)."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel

from sidecar.serve.api.parse import json_model
from sidecar.serve.contracts import ContractEntry
from sidecar.serve.errors import api_error
from sidecar.serve.keys import CONTRACTS

__all__ = ["ContractsAnswer", "get_contract", "list_contracts"]


class ContractsAnswer(BaseModel):
    """``GET /contracts``: every contract of the registry, by name."""

    contracts: list[ContractEntry]


async def list_contracts(request: web.Request) -> web.Response:
    """``GET /contracts`` (read)."""
    if request.query:
        raise api_error(422, f"GET /contracts takes no query parameters; got {', '.join(sorted(request.query))}",
                        next(iter(request.query)))
    return json_model(ContractsAnswer(contracts=await request.app[CONTRACTS].list()))


async def get_contract(request: web.Request) -> web.Response:
    """``GET /contracts/{name}`` (read): one contract's versions."""
    name = request.match_info["name"]
    entry = await request.app[CONTRACTS].get(name)
    if entry is None:
        raise api_error(404, f"no contract named {name!r} in the registry", "name")
    return json_model(entry)
