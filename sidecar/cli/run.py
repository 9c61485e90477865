"""``sidecar run --config FILE``: the streaming sidecar (settings also from ``SIDECAR_*`` variables)."""

from __future__ import annotations

import argparse
import logging

from sidecar.cli import EXIT_FAILED, EXIT_OK, Console, add_command, quiet_aiokafka, service_options

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``run``."""
    run = add_command(
        subparsers, "run", help="run the sidecar: consume a model's Kafka topics, expose metrics",
        epilog="every setting can also come from SIDECAR_<SECTION>__<KEY>, e.g. SIDECAR_KAFKA__BOOTSTRAP_SERVERS",
    )
    service_options(run, "YAML settings file (optional if env vars say it all)")
    run.set_defaults(handler=_run)


def _run(args: argparse.Namespace, console: Console) -> int:
    from sidecar.config import Settings
    from sidecar.run.runner import run

    settings = Settings.load(args.config)  # ConfigurationError -> exit 2 with one line
    level = args.log_level or settings.log_level
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet_aiokafka(level)
    return EXIT_OK if run(settings) == 0 else EXIT_FAILED
