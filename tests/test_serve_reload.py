"""Publishing without downtime: `codegouv serve` keeps answering, and switches to the new
database, while `codegouv publish` replaces the published folder under it."""

from __future__ import annotations

import time

from _publish_helpers import crawled_demo, private_copy

from tests._datasette_helpers import load, publications_seen, publish, serving

#: What the clients ask for (the load's speed is measured by bench/datasette_load.py, not here).
PATHS = [
    "/inventory/repositories",
    "/inventory/repositories.json?_search=donnees&_size=5",
    "/inventory/owners.json?_sort=login&_size=10",
    "/inventory/publish_runs.json?_shape=array",
    "/inventory/licences_utilisees.json",
    "/",
]


def test_two_publications_under_load_fail_no_request(demo_run, tmp_path_factory):
    work = tmp_path_factory.mktemp("reload")
    # publishing writes publish_runs into the live database: a copy of the demo's
    own_db = private_copy(crawled_demo(demo_run), work / "inventory.db")
    out = work / "public"
    # Datasette's side of the swap: the static site is not served here (tests/test_publish.py
    # swaps a publication with its site).
    publish(own_db, out, site=False)

    with serving("--out", str(out)) as server:
        first = publications_seen(server.url)
        with load(server.url, PATHS, clients=2) as seen:
            for expected in (first + 1, first + 2):
                time.sleep(1)
                publish(own_db, out, site=False)
                deadline = time.monotonic() + 60
                while publications_seen(server.url) < expected:
                    assert time.monotonic() < deadline, "the new publication was never served"
                    time.sleep(0.2)
            time.sleep(1)

        assert seen.failures == []
        assert len(seen.answers) > 20, "the clients kept requesting during both publications"
        assert publications_seen(server.url) == first + 2
        # Only the current publication and the one before it remain beside the folder.
        builds = [p for p in work.iterdir() if p.name.startswith(".public.build-")]
        assert len(builds) == 2
