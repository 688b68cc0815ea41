"""``python -m standin --seed FILE [--host H] [--port N] [--grpc-port N]``: serve in the foreground.

Prints ``standin listening on http://HOST:PORT`` and ``standin monitoring grpc on HOST:PORT``
once ready and serves until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from standin.model import SeedError
from standin.seedfile import DEFAULT_SEED_PATH
from standin.server import StandIn

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m standin", description=__doc__)
    parser.add_argument("--seed", default=str(DEFAULT_SEED_PATH), help="seed JSON file")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--grpc-port", type=int, default=0, help="Cloud Monitoring (gRPC) port")
    args = parser.parse_args(argv)
    try:
        standin = StandIn(args.seed, host=args.host, port=args.port, grpc_port=args.grpc_port)
    except SeedError as error:
        print(f"standin: {error}", file=sys.stderr)
        return 2
    done = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        url = standin.start()
    except OSError as error:
        print(f"standin: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1
    print(f"standin listening on {url}", flush=True)
    print(f"standin monitoring grpc on {standin.monitoring_endpoint}", flush=True)
    try:
        while not done.wait(0.5):
            pass
    finally:
        standin.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
