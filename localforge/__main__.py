"""``python -m localforge``: serve the local forge in the foreground until interrupted."""

from __future__ import annotations

import argparse
import logging
import threading

from localforge.data import Dataset
from localforge.server import LocalForge


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m localforge", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--scale", type=int, default=1, help="replicate each owner K times")
    parser.add_argument(
        "--fault-rate",
        type=float,
        default=0.0,
        help="probability of a transient fault (502, 500, dropped connection)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault RNG")
    parser.add_argument("--verbose", "-v", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )

    dataset = Dataset.load(scale=args.scale)
    forge = LocalForge(
        dataset, latency=args.latency, fault_rate=args.fault_rate, seed=args.seed, port=args.port
    )
    forge.start()
    accounts = len(dataset.accounts("github.com"))
    repositories = sum(1 for _ in dataset.all_repositories("github.com"))
    print(f"Local forge on {forge.url} ({accounts} accounts, {repositories} repositories)")  # noqa: T201
    for host in forge.apis:
        print(f"  {host}: {forge.api_url(host)} (GraphQL: {forge.api_url(host)}/graphql)")  # noqa: T201
    print("Ctrl+C to stop.", flush=True)  # noqa: T201
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        forge.stop()


if __name__ == "__main__":
    main()
