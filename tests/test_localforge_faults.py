"""The local forge's fault catalogue: each kind as specified, seeded and deterministic."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import pytest
import requests

from localforge import DEFAULT_FAULT_KINDS, GITLAB_INSTANCE, Dataset, LocalForge
from localforge.__main__ import main

INRIA = GITLAB_INSTANCE
GITHUB_TOKEN = {"Authorization": "token fault-test"}
REPOS_QUERY = """query($n: Int!, $cursor: String) { organization(login: "etalab") {
  repositories(first: $n, after: $cursor) {
    pageInfo { hasNextPage endCursor } nodes { name } } } }"""
BATCH_QUERY = """{ a: organization(login: "etalab") { repositories(first: 30) { nodes { name } } }
  b: organization(login: "DISIC") { repositories(first: 30) { nodes { name } } } }"""


@pytest.fixture(scope="module")
def shared_forge() -> Iterator[LocalForge]:
    with LocalForge(Dataset.load()) as forge:
        yield forge


@pytest.fixture
def forge(shared_forge: LocalForge) -> Iterator[LocalForge]:
    """The module's forge, its fault knobs put back after each test."""
    yield shared_forge
    shared_forge.fault_rate = 0.0
    shared_forge.fault_kinds = DEFAULT_FAULT_KINDS
    shared_forge.fault_only_paths = None
    shared_forge.down_hosts = set()
    shared_forge.down_response = "drop"
    shared_forge.graphql_max_nodes = None
    shared_forge.pagination_loop_hosts = set()
    shared_forge.slow_seconds = 10.0
    shared_forge.seed = 0
    shared_forge.reset_faults()


def github(forge: LocalForge, path: str, **kwargs) -> requests.Response:
    kwargs.setdefault("headers", GITHUB_TOKEN)
    kwargs.setdefault("timeout", 10)
    return requests.get(f"{forge.api_url('github.com')}{path}", **kwargs)


def graphql(forge: LocalForge, query: str, variables: dict | None = None) -> requests.Response:
    return requests.post(
        f"{forge.api_url('github.com')}/graphql",
        json={"query": query, "variables": variables or {}},
        headers=GITHUB_TOKEN,
        timeout=10,
    )


def gitlab(forge: LocalForge, path: str, **kwargs) -> requests.Response:
    kwargs.setdefault("timeout", 10)
    return requests.get(f"{forge.api_url(INRIA)}{path}", **kwargs)


def only(forge: LocalForge, kind: str) -> None:
    forge.fault_kinds = [kind]
    forge.fault_rate = 1.0


def outcome(call) -> object:
    try:
        response = call()
    except requests.Timeout:
        return "timeout"
    except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
        return "broken"
    return response.status_code


# --- each kind ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["500", "502", "503"])
def test_server_errors_in_each_forges_format(forge, status):
    only(forge, status)
    hub = github(forge, "/orgs/etalab")
    assert hub.status_code == int(status) and "message" in hub.json()
    lab = gitlab(forge, "/groups/gazelle")
    assert lab.status_code == int(status)
    if status == "500":
        assert lab.json() == {"message": "500 Internal Server Error"}
    else:  # GitLab's front proxy answers an HTML page
        assert lab.headers["Content-Type"].startswith("text/html") and status in lab.text


def test_dropped_connection(forge):
    only(forge, "drop")
    before = forge.stats[INRIA]["faults"]
    with pytest.raises(requests.ConnectionError):
        gitlab(forge, "/groups/gazelle")
    assert forge.stats[INRIA]["faults"] == before + 1


def test_reset_mid_response(forge):
    only(forge, "reset")
    for call in (lambda: gitlab(forge, "/projects"), lambda: github(forge, "/orgs/etalab/repos")):
        with pytest.raises((requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
            call()


def test_timeout_answers_after_slow_seconds(forge):
    only(forge, "timeout")
    forge.slow_seconds = 0.6
    with pytest.raises(requests.Timeout):
        gitlab(forge, "/groups/gazelle", timeout=0.2)
    started = time.perf_counter()
    late = gitlab(forge, "/groups/gazelle", timeout=5)  # a patient client gets its answer
    assert late.status_code == 200 and time.perf_counter() - started >= 0.6


def test_429_on_gitlab_and_both_rate_limits_on_github(forge):
    only(forge, "429")
    lab = gitlab(forge, "/projects")
    assert lab.status_code == 429 and lab.headers["Retry-After"] == "1"
    assert lab.text == "Retry later\n" and lab.headers["RateLimit-Remaining"] == "0"
    primary = secondary = 0
    for n in range(16):  # different requests, different draws: both variants appear
        hub = github(forge, f"/orgs/etalab/repos?page={n + 1}")
        assert hub.status_code == 403
        if "secondary rate limit" in hub.json()["message"]:
            secondary += 1
            assert hub.headers["Retry-After"] == "1"
        else:
            primary += 1
            assert hub.headers["X-RateLimit-Remaining"] == "0"
            assert int(hub.headers["X-RateLimit-Reset"]) <= time.time() + 2
    assert primary and secondary


def test_graphql_rate_limited_comes_with_http_200_and_spares_rest(forge):
    only(forge, "graphql_rate_limited")
    before = forge.stats["github.com"]["faults"]
    answer = graphql(forge, REPOS_QUERY, {"n": 5})
    assert answer.status_code == 200
    assert answer.json() == {
        "errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded for user ID 1."}]
    }
    assert github(forge, "/orgs/etalab").status_code == 200  # not applicable to REST
    assert gitlab(forge, "/groups/gazelle").status_code == 200
    assert forge.stats["github.com"]["faults"] == before + 1


def test_malformed_json(forge):
    only(forge, "malformed")
    for answer in (gitlab(forge, "/groups/gazelle/projects"), github(forge, "/orgs/etalab")):
        assert answer.status_code == 200
        assert int(answer.headers["Content-Length"]) == len(answer.content)
        with pytest.raises(json.JSONDecodeError):
            json.loads(answer.content)


# --- determinism, targeting, counting ----------------------------------------------------------


def run(forge: LocalForge, paths: list[str]) -> dict[str, list[object]]:
    results: dict[str, list[object]] = {}
    for path in paths:
        results.setdefault(path, []).append(outcome(lambda p=path: gitlab(forge, p)))
    return results


def test_faults_are_seeded_per_request_whatever_the_order(forge):
    forge.fault_rate = 0.4
    forge.seed = 7
    paths = [f"/projects?per_page=5&page={n}" for n in range(1, 13)] * 2
    first = run(forge, paths)
    forge.reset_faults()
    second = run(forge, list(reversed(paths)))
    assert first == second  # each request's n-th occurrence meets the same fault
    assert any(o != 200 for outcomes in first.values() for o in outcomes)
    assert any(o == 200 for outcomes in first.values() for o in outcomes)
    forge.reset_faults()
    forge.seed = 8
    assert run(forge, paths) != first
    # retrying a failed request eventually succeeds
    failing = next(p for p, outcomes in first.items() if outcomes[0] != 200)
    forge.reset_faults()
    forge.seed = 7
    attempts = [outcome(lambda: gitlab(forge, failing)) for _ in range(12)]
    assert attempts[0] != 200 and 200 in attempts


def test_faults_are_counted_and_served_as_stats(forge):
    forge.reset_counters()
    forge.fault_rate = 0.5
    outcomes = [outcome(lambda n=n: gitlab(forge, f"/projects?page={n}")) for n in range(1, 21)]
    failed = sum(1 for o in outcomes if o != 200)
    assert 0 < failed < 20
    assert forge.stats[INRIA]["faults"] == failed
    assert forge.stats[INRIA]["rest"] == 20
    served = requests.get(f"{forge.url}/_localforge/stats", timeout=10).json()
    assert served[INRIA]["faults"] == failed


def test_fault_only_paths(forge):
    forge.fault_rate = 1.0
    forge.fault_kinds = ["503"]
    forge.fault_only_paths = r"/repository/tree"
    repo = next(
        r for r in forge.dataset.all_repositories(INRIA) if r.visibility == "public" and r.entries
    )
    assert gitlab(forge, f"/projects/{repo.database_id}").status_code == 200
    assert gitlab(forge, f"/projects/{repo.database_id}/repository/tree").status_code == 503
    assert github(forge, "/orgs/etalab").status_code == 200


def test_unknown_fault_kind_is_refused(forge):
    with pytest.raises(ValueError):
        forge.fault_kinds = ["teapot"]


# --- a forge that is down, GraphQL timeouts, pagination loops ----------------------------------


def test_down_host(forge):
    forge.down_hosts = {INRIA}
    with pytest.raises(requests.ConnectionError):
        gitlab(forge, "/groups/gazelle")
    assert requests.get(f"{forge.api_url('framagit.org')}/groups/synalp", timeout=10).ok
    assert github(forge, "/orgs/etalab").ok
    forge.down_response = "503"
    assert gitlab(forge, "/groups/gazelle").status_code == 503


def test_graphql_max_nodes_answers_githubs_timeout(forge):
    forge.graphql_max_nodes = 50
    before = forge.stats["github.com"]["faults"]
    refused = graphql(forge, REPOS_QUERY, {"n": 100})
    assert refused.status_code == 502
    body = refused.json()
    assert body["data"] is None
    assert body["errors"][0]["message"].startswith(
        "Something went wrong while executing your query. This may be the result of a timeout"
    )
    assert graphql(forge, REPOS_QUERY, {"n": 50}).status_code == 200  # a smaller page passes
    assert graphql(forge, BATCH_QUERY).status_code == 502  # 2 x 30 nodes, summed
    assert forge.stats["github.com"]["faults"] == before + 2


def test_pagination_loops(forge):
    forge.pagination_loop_hosts = {INRIA, "github.com"}
    page = gitlab(
        forge, "/groups/gazelle/projects", params={"include_subgroups": "true", "page": 3}
    )
    assert page.headers["X-Next-Page"] == page.headers["X-Page"] == "3"
    next_link = re.search(r'<([^>]+)>; rel="next"', page.headers["Link"]).group(1)
    assert "page=3" in next_link
    params = {"pagination": "keyset", "order_by": "id", "sort": "asc", "id_after": 100}
    keyset = gitlab(forge, "/projects", params=params)
    link = re.search(r'<([^>]+)>; rel="next"', keyset.headers["Link"]).group(1)
    assert "id_after=100" in link
    assert requests.get(link, timeout=10).json() == keyset.json()
    rest = github(forge, "/orgs/etalab/repos", params={"page": 2})
    assert 'page=2>; rel="next"' in rest.headers["Link"]
    first = graphql(forge, REPOS_QUERY, {"n": 10}).json()["data"]["organization"]["repositories"]
    again = graphql(forge, REPOS_QUERY, {"n": 10, "cursor": first["pageInfo"]["endCursor"]})
    looped = again.json()["data"]["organization"]["repositories"]
    assert looped["nodes"] == first["nodes"] and looped["pageInfo"]["hasNextPage"]
    # other hosts page normally
    other = requests.get(
        f"{forge.api_url('gricad-gitlab.univ-grenoble-alpes.fr')}/groups/OSUG/projects",
        params={"include_subgroups": "true"},
        timeout=10,
    )
    assert other.headers["X-Next-Page"] == "2"


def test_command_line_options(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for option in (
        "--fault-kinds",
        "--down",
        "--gitlab-scale",
        "--graphql-max-nodes",
        "--pagination-loop",
    ):
        assert option in text
    with pytest.raises(SystemExit):
        main(["--fault-kinds", "teapot"])
