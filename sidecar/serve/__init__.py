"""``sidecar serve``, the control room at the top of the house: one aiohttp process for every model's
reports. :mod:`~sidecar.serve.app` builds it (:func:`create_app`) around the control store
(:class:`sidecar.store.base.ControlStore`, by default :class:`sidecar.store.sql.SqlStore`) with its services
in ``cleanup_ctx`` (:mod:`~sidecar.serve.retention`, the Kafka :mod:`~sidecar.serve.ingest`);
:mod:`~sidecar.serve.api` is the REST API, one module per resource, described by ``schemas/openapi.yaml``;
:mod:`~sidecar.serve.auth` checks tokens and scopes, :mod:`~sidecar.serve.errors` gives every refusal one
shape, :mod:`~sidecar.serve.storable` says what the database can hold, :mod:`~sidecar.serve.contracts` reads
the contract registry, :mod:`~sidecar.serve.metrics` and :mod:`~sidecar.serve.noise` are its own metrics and
quieter logs, and :mod:`~sidecar.serve.runner` runs it all until SIGTERM.
"""

from sidecar.serve.app import INGEST, RETENTION, create_app
from sidecar.serve.keys import CONTRACTS, METRICS, OPENAPI, SETTINGS, STORE
from sidecar.serve.runner import run, serve

__all__ = ["CONTRACTS", "INGEST", "METRICS", "OPENAPI", "RETENTION", "SETTINGS", "STORE", "create_app", "run",
           "serve"]
