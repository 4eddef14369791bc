"""`codegouv serve --workers N`: N processes answer on one port, every one of them switches to a
new publication, and the command stops (or fails) as one."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from tests._datasette_helpers import load, publications_seen, publish, serving
from tests._publish_helpers import crawled_demo, demo_publication, private_copy


def workers_of(pid: int) -> list[int]:
    """The child processes of ``pid`` (Linux)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children]


def cpu_ticks(pid: int) -> int:
    """User + system CPU time of a process, in clock ticks (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


PATHS = [
    "/inventory/repositories?_facet=licence&licence=MIT",
    "/inventory/repositories.json?_search=donnees&_size=5",
    "/inventory/owners?_sort=login",
    "/inventory/licences_utilisees",
    "/data/",
    "/",
]
# The static site is not what is measured here: publications are made with --no-site.


def test_workers_share_the_port_reload_and_stop_together(demo_run, tmp_path_factory):
    work = tmp_path_factory.mktemp("workers")
    # publishing writes publish_runs into the live database: a copy of the demo's
    own_db = private_copy(crawled_demo(demo_run), work / "inventory.db")
    out = work / "public"
    publish(own_db, out, site=False)

    with serving("--out", str(out), "--workers", "2") as server:
        workers = workers_of(server.process.pid)
        assert len(workers) == 2
        before = {pid: cpu_ticks(pid) for pid in workers}
        with load(server.url, PATHS, clients=6, new_connections=True) as seen:
            time.sleep(4)
        assert seen.failures == []
        # Both processes did part of the work (the kernel spreads new connections).
        assert all(cpu_ticks(pid) > before[pid] for pid in workers)

        first = publications_seen(server.url)
        with load(server.url, PATHS, clients=3, new_connections=True) as seen:
            publish(own_db, out, site=False)
            # Every worker serves the new publication: many new connections all see it.
            deadline = time.monotonic() + 60
            while {publications_seen(server.url) for _ in range(12)} != {first + 1}:
                assert time.monotonic() < deadline, "a worker kept the old publication"
                time.sleep(0.3)
        assert seen.failures == [], "no request fails while a new publication is swapped in"

        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=30) == 0
        for pid in workers:
            assert (
                not Path(f"/proc/{pid}").exists()
                or "Z" in (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0])
            ), "a worker outlived the command"


def test_a_worker_that_dies_stops_the_command(demo_run):
    out = demo_publication(demo_run)  # only read

    with serving("--out", str(out), "--workers", "2") as server:
        first, second = workers_of(server.process.pid)
        os.kill(first, signal.SIGKILL)
        assert server.process.wait(timeout=30) == 1
        _, stderr = server.process.communicate(timeout=30)
        assert "processus du serveur s'est arrêté" in stderr
        assert str(first) in stderr
        deadline = time.monotonic() + 30
        while (
            Path(f"/proc/{second}").exists()
            and "Z" not in (Path(f"/proc/{second}/stat").read_text().rsplit(")", 1)[1].split()[0])
        ):
            assert time.monotonic() < deadline, "the other worker kept running"
            time.sleep(0.2)
