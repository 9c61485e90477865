"""The ``sidecar`` command: parser assembly, shared console output, exit codes and error handling.

Subcommands live in their own modules, listed in :data:`COMMAND_MODULES`. Each module defines
``register(subparsers)``, which adds its parsers with :func:`add_command` and sets a ``handler`` default:
a function ``handler(args, console) -> int`` returning the exit code. Adding a subcommand means writing
one module and appending its name to the list; this module never needs to know what the commands do.

Exit codes are the same for every command:

* ``0`` success (for ``validate``: the report stayed below ``--fail-on``),
* ``1`` the command ran and found a problem (``validate``: the report reached ``--fail-on``),
* ``2`` usage or input error: bad arguments, a missing or unreadable file, an unknown or tampered contract;
  one line on stderr, no traceback (``--debug`` shows it),
* ``3`` internal error (a bug): the traceback is printed so it can be reported,
* ``130`` interrupted.

Examples
--------
>>> main(["--version"])  # doctest: +ELLIPSIS
sidecar ...
0
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import metadata
from typing import IO, Protocol

from sidecar.errors import CliError, SidecarError

__all__ = [
    "COMMAND_MODULES",
    "EXIT_FAILED",
    "EXIT_INTERNAL",
    "EXIT_OK",
    "EXIT_USAGE",
    "CliError",
    "Console",
    "Handler",
    "Step",
    "add_command",
    "build_parser",
    "main",
    "one_line",
    "quiet_aiokafka",
    "service_options",
]

#: Modules that contribute subcommands, in the order they appear in ``sidecar --help``. Each defines
#: ``register(subparsers: argparse._SubParsersAction) -> None``.
COMMAND_MODULES: tuple[str, ...] = (
    "sidecar.cli.contract", "sidecar.cli.validate", "sidecar.cli.run", "sidecar.cli.join", "sidecar.cli.serve",
    "sidecar.cli.token",
)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130


class Step:
    """One timed step of progress output; set :attr:`detail` to say what it produced."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.detail = ""
        self.started = time.perf_counter()

    @property
    def elapsed(self) -> float:
        """Seconds since the step started."""
        return time.perf_counter() - self.started


class Console:
    """Where a command writes: results to stdout, progress and errors to stderr.

    Progress lines (``reading data.csv ... 1,000,000 rows, 12 columns in 1.2s``) are suppressed by
    ``quiet``. On a terminal the label appears when a step starts, so a long read shows what it is doing;
    elsewhere (logs, pipes, tests) the whole line is written when the step ends, so a failing step leaves
    only the error line behind.
    """

    def __init__(self, *, quiet: bool = False, out: IO[str] | None = None, err: IO[str] | None = None) -> None:
        self.quiet = quiet
        self.out = out if out is not None else sys.stdout
        self.err = err if err is not None else sys.stderr
        self._live = not quiet and _isatty(self.err)

    def print(self, text: str = "") -> None:
        """Write a result line to stdout."""
        print(text, file=self.out)

    def note(self, text: str) -> None:
        """Write a progress or status line to stderr (unless quiet)."""
        if not self.quiet:
            print(text, file=self.err)

    def error(self, text: str) -> None:
        """Write ``sidecar: error: <text>`` to stderr, even when quiet."""
        print(f"sidecar: error: {text}", file=self.err)

    @contextmanager
    def step(self, label: str) -> Iterator[Step]:
        """Time a step and report it on stderr; see the class docstring for when lines appear."""
        step = Step(label)
        if self._live:
            print(f"{label} ... ", end="", file=self.err, flush=True)
        try:
            yield step
        except BaseException:
            if self._live:
                print("failed", file=self.err, flush=True)
            raise
        done = f"{step.detail} in {step.elapsed:.2f}s" if step.detail else f"done in {step.elapsed:.2f}s"
        if self._live:
            print(done, file=self.err, flush=True)
        else:
            self.note(f"{label} ... {done}")


class Handler(Protocol):
    """What a subcommand's ``handler`` default must be."""

    def __call__(self, args: argparse.Namespace, console: Console) -> int: ...


def one_line(exc: BaseException) -> str:
    """``exc``'s message on one line (pydantic and pandas messages span several)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return "; ".join(lines) or type(exc).__name__


def add_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], name: str, *,
                help: str, description: str | None = None, epilog: str | None = None) -> argparse.ArgumentParser:
    """Add a subcommand parser that also accepts the global options (``-q``, ``--debug``) after its name."""
    return subparsers.add_parser(
        name, help=help, description=description or help, epilog=epilog, parents=[_common_options()],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def service_options(parser: argparse.ArgumentParser, config_help: str) -> None:
    """``--config FILE`` and ``--log-level`` of the long-running commands (``run``, ``join``)."""
    parser.add_argument("--config", "-c", metavar="FILE", help=config_help)
    parser.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="log verbosity (default: the settings' log_level, INFO)")


def quiet_aiokafka(level: str) -> None:
    """aiokafka logs every rebalance step at INFO: keep it to warnings unless debugging."""
    import logging

    logging.getLogger("aiokafka").setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)


def build_parser() -> argparse.ArgumentParser:
    """The full ``sidecar`` parser, with every module in :data:`COMMAND_MODULES` registered."""
    parser = argparse.ArgumentParser(
        prog="sidecar",
        description="Data contracts for ML models: create them from reference data, inspect them, and "
        "validate new data against them.",
        epilog="exit codes: 0 ok, 1 validation reached --fail-on, 2 usage or input error, 3 internal error",
    )
    parser.add_argument("--version", action="version", version=f"sidecar {_version()}")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output on stderr")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for input errors")
    subparsers = parser.add_subparsers(title="commands", dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        # Imported here rather than at the top so command modules can import this module's helpers.
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``sidecar`` command with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors: argparse has printed already
        return exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_USAGE)
    console = Console(quiet=args.quiet)
    handler: Handler = args.handler
    try:
        return int(handler(args, console))
    except KeyboardInterrupt:
        console.error("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `sidecar contract show ... | head`: the reader left; stop quietly, without a second error at exit.
        _silence_stdout()
        return EXIT_OK
    except (SidecarError, OSError) as exc:
        if args.debug:
            raise
        console.error(one_line(exc))
        return EXIT_USAGE
    except Exception:
        if args.debug:
            raise
        traceback.print_exc(file=console.err)
        console.error("internal error (a bug in sidecar); please report it with the traceback above")
        return EXIT_INTERNAL


def _common_options() -> argparse.ArgumentParser:
    # SUPPRESS keeps a subcommand from resetting an option given before it to its default.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                        help="no progress output on stderr")
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show tracebacks for input errors")
    return common


def _version() -> str:
    try:
        return metadata.version("model-health-sidecar")
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        from sidecar import __version__

        return __version__


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
