"""``python -m localforge``: serve the local forge in the foreground until interrupted."""

from __future__ import annotations

import argparse
import logging
import threading

from localforge.data import Dataset
from localforge.faults import DEFAULT_FAULT_KINDS, FAULT_KINDS
from localforge.gitlab_data import GITLAB_INSTANCE
from localforge.server import LocalForge


def _kinds(value: str) -> list[str]:
    kinds = [k.strip() for k in value.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in FAULT_KINDS]
    if unknown or not kinds:
        raise argparse.ArgumentTypeError(f"choose among {', '.join(FAULT_KINDS)}")
    return kinds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m localforge", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--scale", type=int, default=1, help="replicate each owner K times")
    parser.add_argument(
        "--gitlab-scale",
        type=int,
        default=None,
        help="replicate each GitLab top-level namespace K times (default: --scale; "
        "8 gives 20,848 public GitLab projects)",
    )
    parser.add_argument(
        "--fault-rate", type=float, default=0.0, help="probability of an injected fault"
    )
    parser.add_argument(
        "--fault-kinds",
        type=_kinds,
        default=list(DEFAULT_FAULT_KINDS),
        help=f"comma-separated, among {', '.join(FAULT_KINDS)} "
        f"(default: {','.join(DEFAULT_FAULT_KINDS)})",
    )
    parser.add_argument(
        "--fault-only-paths", default=None, help="inject faults only where this regex matches"
    )
    parser.add_argument(
        "--slow-seconds", type=float, default=10.0, help="delay of a 'timeout' fault"
    )
    parser.add_argument(
        "--down",
        action="append",
        default=[],
        metavar="HOST",
        help="drop every request for HOST (repeatable)",
    )
    parser.add_argument(
        "--pagination-loop",
        action="append",
        default=[],
        metavar="HOST",
        help="make HOST's next-page links point at the same page (repeatable)",
    )
    parser.add_argument(
        "--graphql-max-nodes",
        type=int,
        default=None,
        help="GitHub GraphQL queries asking repositories for more nodes answer 502",
    )
    parser.add_argument(
        "--rate-limit", type=int, default=5000, help="GitHub: per hour; GitLab: per minute"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault draws")
    parser.add_argument("--verbose", "-v", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )

    dataset = Dataset.load(scale=args.scale, gitlab_scale=args.gitlab_scale)
    forge = LocalForge(
        dataset,
        latency=args.latency,
        fault_rate=args.fault_rate,
        seed=args.seed,
        port=args.port,
        rate_limit=args.rate_limit,
        fault_kinds=args.fault_kinds,
        slow_seconds=args.slow_seconds,
        down_hosts=set(args.down),
        graphql_max_nodes=args.graphql_max_nodes,
        pagination_loop_hosts=set(args.pagination_loop),
        fault_only_paths=args.fault_only_paths,
    )
    forge.start()
    print(f"Local forge on {forge.url}")  # noqa: T201
    for host in forge.apis:
        accounts = len(dataset.accounts(host))
        public = sum(1 for r in dataset.all_repositories(host) if r.visibility == "public")
        whole = " (whole instance)" if host == GITLAB_INSTANCE else ""
        print(  # noqa: T201
            f"  {host}{whole}: {forge.api_url(host)}, {accounts} accounts, "
            f"{public} public repositories"
        )
    print("GraphQL: github.com/graphql. Ctrl+C to stop.", flush=True)  # noqa: T201
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        forge.stop()


if __name__ == "__main__":
    main()
