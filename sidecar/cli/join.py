"""``sidecar join --config FILE``: join a model's predictions with delayed outcomes (a faust-streaming app).

The settings are ``sidecar run``'s file with a ``join:`` section (see :class:`sidecar.config.JoinSettings`);
a file with only ``model``, ``kafka`` and ``join`` is enough.
"""

from __future__ import annotations

import argparse

from sidecar.cli import EXIT_FAILED, EXIT_OK, CliError, Console, add_command, quiet_aiokafka, service_options

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``join``."""
    join = add_command(
        subparsers, "join", help="join predictions with delayed outcomes: production metrics per window",
        epilog="every setting can also come from SIDECAR_<SECTION>__<KEY>, e.g. SIDECAR_JOIN__TTL_SECONDS",
    )
    service_options(join, "YAML settings file with a join: section")
    join.set_defaults(handler=_join)


def _join(args: argparse.Namespace, console: Console) -> int:
    from sidecar.config import Settings

    settings = Settings.load(args.config, streams=False)  # ConfigurationError -> exit 2 with one line
    if settings.join is None:
        where = args.config or "the environment"
        raise CliError(f"settings ({where}) have no 'join' section; sidecar join needs one (see the README)")
    from sidecar.join.app import create_join_app

    level = args.log_level or settings.log_level
    app = create_join_app(settings)  # a bad reference file -> ConfigurationError -> exit 2
    import faust

    quiet_aiokafka(level)
    worker = faust.Worker(app.faust, loglevel=level, quiet=True)
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:  # the worker exits the process its own way; keep the CLI's exit codes
        return EXIT_OK if exc.code in (None, 0) else EXIT_FAILED
    return EXIT_OK
