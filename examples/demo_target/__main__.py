"""``python -m examples.demo_target --port 8081``: serve the demo target standalone."""

from __future__ import annotations

import argparse
import os

import uvicorn

from examples.demo_target.app import create_app
from examples.demo_target.server import server_config
from examples.demo_target.state import DEFAULT_EMAIL, DEFAULT_PASSWORD, TargetState


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m examples.demo_target", description="Serve the smokewatch demo target."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--email", default=DEFAULT_EMAIL, help="the test account's email")
    parser.add_argument(
        "--password",
        default=os.environ.get("SMOKE_TEST_PASSWORD", DEFAULT_PASSWORD),
        help="the test account's password (default: $SMOKE_TEST_PASSWORD or demo-password)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed of flaky_percent's and jitter_ms's random draws (default: unseeded)",
    )
    args = parser.parse_args(argv)
    app = create_app(TargetState(email=args.email, password=args.password, seed=args.seed))
    uvicorn.Server(server_config(app, host=args.host, port=args.port, embedded=False)).run()


if __name__ == "__main__":
    main()
