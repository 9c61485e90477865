"""``sidecar serve --config FILE``: the control room (settings also from ``SIDECAR_*`` variables).

Runs until SIGTERM or SIGINT, drains the requests in flight and the ingest, closes the store and exits 0.
See :mod:`sidecar.serve` and the settings in :class:`sidecar.config.ServeSettings`.
"""

from __future__ import annotations

import argparse
import logging

from sidecar.cli import EXIT_OK, Console, add_command, quiet_aiokafka, service_options

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``serve``."""
    serve = add_command(
        subparsers, "serve", help="run the control room: every model's reports, a REST API with tokens",
        epilog="every setting can also come from SIDECAR_<SECTION>__<KEY>, e.g. SIDECAR_STORE__URL",
    )
    service_options(serve, "YAML settings file of the control room (serve.yaml)")
    serve.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace, console: Console) -> int:
    from sidecar.config import ServeSettings
    from sidecar.serve.runner import run

    settings = ServeSettings.load(args.config)  # ConfigurationError -> exit 2 with one line
    level = args.log_level or settings.log_level
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet_aiokafka(level)
    run(settings)  # a store that cannot open -> CliError -> exit 2 with one line
    return EXIT_OK
