"""``python -m sidecar.demo [batch|stream]``."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Run the demo named in ``argv`` (default: everything the product does so far)."""
    args = sys.argv[1:] if argv is None else argv
    what = args[0] if args else "all"
    if what in ("batch", "all"):
        from sidecar.demo.batch import run

        run()
    if what in ("stream", "all"):
        try:
            from sidecar.demo.stream import main as stream_main
        except ImportError:
            return 0
        return stream_main(args[1:])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
