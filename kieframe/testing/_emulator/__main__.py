"""Serve the kie.ai emulator until Ctrl-C: ``python -m kieframe.testing._emulator``."""

from __future__ import annotations

import argparse
import contextlib
import threading
from collections.abc import Sequence

from ._emulator import Emulator
from ._records import Timing


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, start the emulator, print its URL and serve until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m kieframe.testing._emulator", description=main.__doc__
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=8787, help="port, 0 for any (default: %(default)s)"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed for chance faults (task ids are new each run)"
    )
    parser.add_argument("--hmac-key", default=None, help="sign callbacks with this webhook key")
    parser.add_argument(
        "--generating",
        type=float,
        default=5.0,
        help="seconds a task generates (default: %(default)s)",
    )
    parser.add_argument(
        "--errors-as-http-status",
        action="store_true",
        help="answer business errors with that HTTP status",
    )
    parser.add_argument(
        "--no-rate-limits", action="store_true", help="turn the emulated rate limits off"
    )
    args = parser.parse_args(argv)
    emulator = Emulator(
        timing=Timing(generating=args.generating),
        seed=args.seed,
        hmac_key=args.hmac_key,
        errors_as_http_status=args.errors_as_http_status,
        rate_limits=not args.no_rate_limits,
        host=args.host,
        port=args.port,
    )
    with emulator:
        print(
            f"kie.ai emulator serving at {emulator.base_url} (API key: {Emulator.API_KEY})",
            flush=True,
        )
        print("press Ctrl-C to stop", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
