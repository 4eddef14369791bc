"""One bad answer never fails a whole forge, and every run ends (issue 9).

Each test crawls a scripted hostile forge (tests/hostile.py) through the real clients over real
HTTP: GitHub's GraphQL API through PyGithub, GitLab's REST API through python-gitlab. Every test
has a well-behaved sibling account beside the hostile one, which must come out whole.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import itertools
import json
import socket
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from hostile import Answer, HostileServer, Seen, endless, json_answer

from crawler import db as store
from crawler.forges.base import RetryPolicy
from crawler.licences import detect_files
from crawler.lock import exclusive
from crawler.models import Config, ForgeConfig, OwnerConfig, RunReport
from crawler.pipeline import crawl
from localforge import Dataset, LocalForge

#: Short bounds so that the whole file runs in seconds.
QUICK = RetryPolicy(
    attempts=3,
    backoff=0.01,
    max_wait=5,
    timeout=2,
    answer_deadline=1.0,
    max_answer_bytes=1024 * 1024,
    account_deadline=20,
)
TOKEN = {"GITHUB_TOKEN": "test-token"}
GITHUB = "github.com"
GITLAB = "gitlab.hostile.test"


# --- a scripted GitHub GraphQL API ------------------------------------------------------------


def gh_repo(login: str, name: str, **fields: Any) -> dict[str, Any]:
    """A repository node as GitHub answers it (a licence GitHub knows: no file reads)."""
    node: dict[str, Any] = {
        "nameWithOwner": f"{login}/{name}",
        "name": name,
        "url": f"https://github.com/{login}/{name}",
        "description": f"{name}, a repository",
        "homepageUrl": None,
        "isFork": False,
        "isArchived": False,
        "isTemplate": False,
        "isPrivate": False,
        "createdAt": "2020-01-01T00:00:00Z",
        "updatedAt": "2026-01-01T00:00:00Z",
        "pushedAt": "2026-01-01T00:00:00Z",
        "stargazerCount": 3,
        "forkCount": 1,
        "issues": {"totalCount": 0},
        "primaryLanguage": {"name": "Python"},
        "repositoryTopics": {"nodes": [{"topic": {"name": "etat"}}]},
        "licenseInfo": {"spdxId": "MIT", "key": "mit", "name": "MIT License"},
        "defaultBranchRef": {"name": "main", "target": {"committedDate": "2026-01-01T00:00:00Z"}},
        "object": {"entries": [{"name": "README.md", "type": "blob"}]},
    }
    node.update(fields)
    return node


def connection(nodes: list[Any], total: int, cursor: str | None = None) -> dict[str, Any]:
    return {
        "totalCount": total,
        "pageInfo": {"hasNextPage": cursor is not None, "endCursor": cursor},
        "nodes": nodes,
    }


#: (login, cursor) -> the account's repositories connection, or an Answer sent whole instead.
Pages = Callable[[str, str | None], "dict[str, Any] | Answer"]


def github_route(
    totals: dict[str, int],
    pages: Pages,
    pushed: str = "2026-01-01",
    survey: Callable[[list[str]], Answer | None] | None = None,
) -> Any:
    def route(seen: Seen) -> Answer:
        body = json.loads(seen.body)
        query, variables = body["query"], body["variables"]
        data: dict[str, Any] = {"rateLimit": {"cost": 1, "remaining": 4000, "resetAt": None}}
        if query.startswith("query Survey"):
            instead = survey(list(variables.values())) if survey else None
            if instead is not None:
                return instead
            for key, login in variables.items():
                data[f"o{key[1:]}"] = {
                    "__typename": "Organization",
                    "login": login,
                    "name": login.title(),
                    "repositories": {"totalCount": totals[login]},
                    "lastPushed": {"nodes": [{"pushedAt": pushed}]},
                    "lastUpdated": {"nodes": [{"updatedAt": pushed}]},
                }
            return json_answer({"data": data})
        assert query.startswith("query Repositories"), query
        for i in itertools.count():
            if f"l{i}" not in variables:
                break
            login = variables[f"l{i}"]
            page = pages(login, variables[f"c{i}"])
            if isinstance(page, Answer):
                return page
            data[f"o{i}"] = {"login": login, "repositories": page}
        return json_answer({"data": data})

    return route


def github_config(server: HostileServer, *logins: str) -> Config:
    owners = tuple(OwnerConfig(GITHUB, login, line=i + 1) for i, login in enumerate(logins))
    return Config("test", (ForgeConfig(GITHUB, "github", server.url, owners),))


# --- a scripted GitLab REST API -----------------------------------------------------------------


def gl_project(group: str, number: int, **fields: Any) -> dict[str, Any]:
    """A project as GitLab lists it (an empty repository: no detail requests)."""
    project: dict[str, Any] = {
        "id": number,
        "path_with_namespace": f"{group}/p{number}",
        "namespace": {"full_path": group, "kind": "group"},
        "web_url": f"https://{GITLAB}/{group}/p{number}",
        "visibility": "public",
        "empty_repo": True,
        "default_branch": None,
        "star_count": 2,
        "forks_count": 0,
        "open_issues_count": 0,
        "created_at": "2020-01-01T00:00:00Z",
        "last_activity_at": "2020-06-01T00:00:00Z",
        "topics": ["etat"],
    }
    project.update(fields)
    return project


#: (group, request) -> the answer to its projects listing.
Listing = Callable[[str, Seen], Answer]


def gitlab_route(listing: Listing, extra: Callable[[Seen], Answer | None] | None = None) -> Any:
    def route(seen: Seen) -> Answer:
        parts = seen.route.removeprefix("/api/v4/").split("/")
        if parts[0] == "groups" and len(parts) == 2:
            group = parts[1]
            return json_answer({"id": 1, "full_path": group, "name": group.title()})
        if parts[0] == "groups" and parts[2:] == ["projects"]:
            return listing(parts[1], seen)
        answer = extra(seen) if extra else None
        return answer or json_answer({"message": "404 Not Found"}, 404)

    return route


def gitlab_config(server: HostileServer, *groups: str) -> Config:
    owners = tuple(OwnerConfig(GITLAB, group, line=i + 1) for i, group in enumerate(groups))
    forge = ForgeConfig(GITLAB, "gitlab", f"{server.url}/api/v4", owners)
    return Config("test", (forge,))


# --- what a user sees -------------------------------------------------------------------------


def status(db: sqlite_utils.Database, forge: str, login: str) -> str:
    row = db.table("owners").get(f"{forge}/{login}".lower())
    return str(row["crawl_status"])


def errors(db: sqlite_utils.Database) -> list[str]:
    return [row["error"] for row in db.query("select error from crawl_errors order by rowid")]


def names(db: sqlite_utils.Database, forge: str, login: str) -> set[str]:
    return {
        row["name"]
        for row in db.query(
            "select name from repositories where owner = ? and removed_at is null",
            [f"{forge}/{login}".lower()],
        )
    }


def assert_run_ended(db: sqlite_utils.Database, report: RunReport) -> None:
    """The run is closed and what was saved has its derived columns."""
    run = db.table("crawl_runs").get(report.run_id)
    assert run["finished_at"] and run["status"] in ("ok", "partial")
    missing = db.execute(
        "select count(*) from repositories where activity is null or score is null"
    ).fetchone()[0]
    assert missing == 0


# --- every run ends -----------------------------------------------------------------------------


def test_trickling_answer_fails_its_account_and_the_run_ends(tmp_path: Path) -> None:
    """A forge that sends one byte at a time for ever costs one account a bounded time: the
    run ends, with finished_at set, scores for what was saved, and the lock released."""

    def listing(group: str, seen: Seen) -> Answer:
        if group == "slow":
            return Answer(
                200,
                headers={"Content-Type": "application/json"},
                chunks=itertools.chain([b"["], endless(b" ")),
                pause=0.2,
            )
        return json_answer([gl_project(group, 1), gl_project(group, 2)])

    path = tmp_path / "inventory.db"
    with HostileServer(gitlab_route(listing)) as server:
        started = time.monotonic()
        with exclusive(path):
            db = store.open_db(path)
            report = crawl(gitlab_config(server, "slow", "fine"), db, retry=QUICK)
        elapsed = time.monotonic() - started
        slow_requests = [s for s in server.requests if s.route.endswith("/slow/projects")]
    # three tries of about a second each (deadline, plus one read), not for ever
    assert elapsed < 15
    assert len(slow_requests) == QUICK.attempts
    assert status(db, GITLAB, "slow") == "failed"
    assert status(db, GITLAB, "fine") == "ok"
    assert names(db, GITLAB, "fine") == {"p1", "p2"}
    (error,) = errors(db)
    assert "not complete in time" in error and "slow" in error
    assert_run_ended(db, report)
    with exclusive(path):  # released: a next crawl can start
        pass


class HeaderTrickler:
    """A server that answers every connection with a status line sent one byte at a time,
    for ever: something the local forge and tests/hostile.py (whole headers) cannot do."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._stop = threading.Event()
        self.connections = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def _serve(self) -> None:
        self._listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:  # closed by __exit__
                return
            self.connections += 1
            threading.Thread(target=self._trickle, args=(client,), daemon=True).start()

    def _trickle(self, client: socket.socket) -> None:
        with client, contextlib.suppress(OSError):
            client.recv(65536)
            for byte in itertools.cycle(b"HTTP/1.1 200 OK\r\nX-Slow: "):
                if self._stop.is_set():
                    return
                client.sendall(bytes([byte]))
                time.sleep(0.1)

    def __enter__(self) -> HeaderTrickler:
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._listener.close()


def test_trickling_headers_end_too() -> None:
    """Headers sent a byte at a time never trip a read timeout: the adapter cuts them at the
    deadline, so the forge ends (as unreachable) instead of hanging the run."""
    with HeaderTrickler() as server:
        owners = (OwnerConfig(GITLAB, "grp", line=1),)
        config = Config("test", (ForgeConfig(GITLAB, "gitlab", f"{server.url}/api/v4", owners),))
        started = time.monotonic()
        db = store.open_db()
        report = crawl(config, db, retry=QUICK)
        elapsed = time.monotonic() - started
    assert elapsed < 15
    assert report.accounts_failed == 1
    (error,) = errors(db)
    assert "ForgeUnavailable" in error and "unexpected" not in error
    assert_run_ended(db, report)


def test_a_body_stalled_longer_than_the_deadline_is_cut_at_the_deadline() -> None:
    """A body whose next byte comes after the deadline (but before the read timeout) is cut
    at the deadline, not when the byte comes."""

    def listing(group: str, seen: Seen) -> Answer:
        if group == "stalled":
            return Answer(
                200,
                headers={"Content-Type": "application/json"},
                chunks=itertools.chain([b"["], endless(b" ")),
                pause=5,
            )
        return json_answer([gl_project(group, 1)])

    policy = RetryPolicy(attempts=2, backoff=0.01, timeout=10, answer_deadline=1.0)
    with HostileServer(gitlab_route(listing)) as server:
        started = time.monotonic()
        db = store.open_db()
        report = crawl(gitlab_config(server, "stalled", "fine"), db, retry=policy)
        elapsed = time.monotonic() - started
    assert elapsed < 6  # two tries of about a second, not of five seconds each
    assert status(db, GITLAB, "stalled") == "failed"
    assert status(db, GITLAB, "fine") == "ok"
    (error,) = errors(db)
    assert "not complete in time" in error
    assert_run_ended(db, report)


def test_an_account_longer_than_allowed_fails_alone() -> None:
    """Pages that each come in time but never stop coming: the account's own time bound
    ends it (no total is declared, so the page ceiling is far)."""

    def listing(group: str, seen: Seen) -> Answer:
        if group == "long":
            page = int(seen.query.get("page", ["1"])[0])
            time.sleep(0.2)
            return json_answer(
                [gl_project(group, page)],
                Link=f'<{server.url}/api/v4/groups/long/projects?page={page + 1}>; rel="next"',
            )
        return json_answer([gl_project(group, 1)])

    policy = RetryPolicy(attempts=2, backoff=0.01, timeout=2, account_deadline=1.5)
    with HostileServer(gitlab_route(listing)) as server:
        db = store.open_db()
        report = crawl(gitlab_config(server, "long", "fine"), db, retry=policy)
    assert status(db, GITLAB, "long") == "failed"
    assert status(db, GITLAB, "fine") == "ok"
    (error,) = errors(db)
    assert "AccountTimeout" in error and "not finished after" in error
    assert_run_ended(db, report)


def test_huge_answers_are_cut_not_read_whole() -> None:
    """A listing page of tens of megabytes fails its account after the cap, without the
    crawler holding it; a huge LICENSE is read up to its cap and its repository kept."""
    sent = {"listing": 0, "licence": 0, "error": 0}
    piece = b" " * (256 * 1024)

    def counted(kind: str, first: bytes) -> Iterator[bytes]:
        yield first
        for _ in range(160):  # 40 MB, unless the crawler stops reading
            sent[kind] += len(piece)
            yield piece

    def listing(group: str, seen: Seen) -> Answer:
        if group == "huge":
            return Answer(
                200, headers={"Content-Type": "application/json"}, chunks=counted("listing", b"[")
            )
        return json_answer([gl_project(group, 7, empty_repo=False, default_branch="main")])

    text = b"MIT License\n\nCopyright (c) 2024 DINUM\n"

    def details(seen: Seen) -> Answer | None:
        if seen.route.endswith("/repository/tree"):
            return json_answer(
                [
                    {"name": "LICENSE", "type": "blob", "path": "LICENSE"},
                    {"name": "package.json", "type": "blob", "path": "package.json"},
                ]
            )
        if seen.route.endswith("/files/package.json/raw"):  # a huge error: read capped too
            return Answer(
                404, headers={"Content-Type": "text/plain"}, chunks=counted("error", b"{")
            )
        if seen.route.endswith("/files/LICENSE/raw"):
            return Answer(
                200, headers={"Content-Type": "text/plain"}, chunks=counted("licence", text)
            )
        return None

    with HostileServer(gitlab_route(listing, details)) as server:
        db = store.open_db()
        detect_files({"LICENSE": text})  # reference texts loaded before measuring
        tracemalloc.start()
        try:
            report = crawl(gitlab_config(server, "huge", "fine"), db, retry=QUICK)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert status(db, GITLAB, "huge") == "failed"
    (error,) = errors(db)
    assert "AnswerTooLarge" in error or "larger than" in error
    assert status(db, GITLAB, "fine") == "ok"
    assert names(db, GITLAB, "fine") == {"p7"}
    # neither body was read whole: the server could write little more than the caps (plus
    # what the sockets buffer), and the crawler never held more than a few megabytes
    assert sent["listing"] < 12 * 1024 * 1024
    assert sent["licence"] < 12 * 1024 * 1024
    assert sent["error"] < 12 * 1024 * 1024
    assert peak < 16 * 1024 * 1024, peak
    assert_run_ended(db, report)


def test_endless_github_pages_stop_past_the_declared_total() -> None:
    """Fresh cursors for ever, although GitHub declared 5 repositories: the account fails
    after a bounded number of requests, its sibling is read whole."""

    def pages(login: str, cursor: str | None) -> dict[str, Any]:
        if login == "sibling":
            return connection([gh_repo(login, "only")], 1)
        n = int(cursor or "0")
        nodes = [gh_repo(login, f"r{n * 5 + k}") for k in range(5)]
        return connection(nodes, 5, str(n + 1))

    with HostileServer(github_route({"endless": 5, "sibling": 1}, pages)) as server:
        db = store.open_db()
        report = crawl(github_config(server, "endless", "sibling"), db, environ=TOKEN, retry=QUICK)
        sent = len(server.requests)
    assert status(db, GITHUB, "endless") == "failed"
    assert status(db, GITHUB, "sibling") == "ok"
    assert names(db, GITHUB, "sibling") == {"only"}
    (error,) = errors(db)
    assert "EndlessPages" in error and "declared 5" in error
    assert sent < 40
    assert_run_ended(db, report)


def test_endless_gitlab_pages_stop_past_x_total() -> None:
    """GitLab says X-Total 5 on one page, then links to a next page for ever."""

    def listing(group: str, seen: Seen) -> Answer:
        if group == "fine":
            return json_answer([gl_project(group, 1)], **{"X-Total": "1", "X-Total-Pages": "1"})
        page = int(seen.query.get("page", ["1"])[0])
        return json_answer(
            [gl_project(group, page * 10 + k) for k in range(5)],
            Link=f'<{server.url}/api/v4/groups/endless/projects?page={page + 1}>; rel="next"',
            **{"X-Total": "5", "X-Total-Pages": "1"},
        )

    with HostileServer(gitlab_route(listing)) as server:
        db = store.open_db()
        report = crawl(gitlab_config(server, "endless", "fine"), db, retry=QUICK)
        listed = [s for s in server.requests if s.route.endswith("/endless/projects")]
    assert status(db, GITLAB, "endless") == "failed"
    assert status(db, GITLAB, "fine") == "ok"
    (error,) = errors(db)
    assert "EndlessPages" in error and "X-Total 5" in error
    assert len(listed) <= 4
    assert_run_ended(db, report)


# --- one bad answer never fails a whole forge -----------------------------------------------------


def test_malformed_github_items_are_skipped_and_recorded() -> None:
    """A missing field, a wrong type and a string where an object is expected skip that
    repository only (recorded with its name), the rest of the page is saved; a repository
    stored before that turns malformed is not marked removed."""
    bad: dict[str, Any] = {}

    def pages(login: str, cursor: str | None) -> dict[str, Any]:
        nodes = [gh_repo(login, name, **bad.get(name, {})) for name in ("good", "b1", "b2", "b3")]
        if bad:
            nodes.append("not a repository")
        return connection(nodes, len(nodes))

    with HostileServer(github_route({"org": 5}, pages)) as server:
        db = store.open_db()
        crawl(github_config(server, "org"), db, environ=TOKEN, retry=QUICK)
        assert names(db, GITHUB, "org") == {"good", "b1", "b2", "b3"}
        bad.update(
            b1={"stargazerCount": "many"},
            b2={"url": None},
            b3={"primaryLanguage": "Python"},
        )
        server.route = github_route({"org": 5}, pages, pushed="2026-02-01")
        report = crawl(github_config(server, "org"), db, environ=TOKEN, retry=QUICK)
    assert status(db, GITHUB, "org") == "ok"
    assert report.accounts_failed == 0
    found = errors(db)
    assert len(found) == 4
    assert any("'org/b1'" in e and "stargazerCount" in e and "not an integer" in e for e in found)
    assert any("'org/b2'" in e and "'url' is missing" in e for e in found)
    assert any("'org/b3'" in e and "primaryLanguage" in e and "not an object" in e for e in found)
    assert any("item 4" in e and "where an object was expected" in e for e in found)
    # skipped, not removed: the forge still lists them
    assert names(db, GITHUB, "org") == {"good", "b1", "b2", "b3"}
    assert_run_ended(db, report)


def test_a_bad_survey_answer_fails_only_the_account_it_concerns() -> None:
    """The account survey packs many accounts in one query: an answer GitHub garbles for one
    of them (here, whenever it is asked) sinks that account alone."""

    def survey(logins: list[str]) -> Answer | None:
        if "garbled" in logins:
            return Answer(200, b"<html>Service unavailable</html>", {"Content-Type": "text/html"})
        return None

    def pages(login: str, cursor: str | None) -> dict[str, Any]:
        return connection([gh_repo(login, "kept")], 1)

    totals = {"garbled": 1, "fine": 1}
    with HostileServer(github_route(totals, pages, survey=survey)) as server:
        db = store.open_db()
        report = crawl(github_config(server, "garbled", "fine"), db, environ=TOKEN, retry=QUICK)
    assert status(db, GITHUB, "garbled") == "failed"
    assert status(db, GITHUB, "fine") == "ok"
    assert names(db, GITHUB, "fine") == {"kept"}
    (error,) = errors(db)
    assert "MalformedResponse" in error
    assert_run_ended(db, report)


def test_a_keyset_listing_without_totals_stops_at_the_ceiling() -> None:
    """A whole instance lists its projects by keyset, with no total: endless next links stop
    at RetryPolicy.max_pages."""

    def route(seen: Seen) -> Answer:
        after = int(seen.query.get("id_after", ["0"])[0])
        projects = [gl_project("grp", after + k) for k in range(1, 3)]
        link = f"{server.url}/api/v4/projects?pagination=keyset&id_after={after + 2}"
        return json_answer(projects, Link=f'<{link}>; rel="next"')

    policy = RetryPolicy(attempts=2, backoff=0.01, timeout=2, max_pages=6)
    with HostileServer(route) as server:
        forge = ForgeConfig(GITLAB, "gitlab", f"{server.url}/api/v4")
        db = store.open_db()
        report = crawl(Config("test", (forge,)), db, retry=policy)
        listed = [s for s in server.requests if s.route == "/api/v4/projects"]
    assert report.accounts_failed == 1
    (error,) = errors(db)
    assert "EndlessPages" in error and "7 pages" in error and "at most 6" in error
    assert len(listed) == 7
    # the six pages listed before the stop are kept, with their derived columns
    assert db.table("repositories").count == 12
    assert_run_ended(db, report)


def test_malformed_gitlab_items_are_skipped_and_recorded() -> None:
    def listing(group: str, seen: Seen) -> Answer:
        return json_answer(
            [
                gl_project(group, 1),
                gl_project(group, 2, star_count="many"),
                gl_project(group, 3, path_with_namespace=None),
                gl_project(group, 4, namespace="a string"),
                ["not", "a", "project"],
            ]
        )

    with HostileServer(gitlab_route(listing)) as server:
        db = store.open_db()
        report = crawl(gitlab_config(server, "grp"), db, retry=QUICK)
    assert status(db, GITLAB, "grp") == "ok"
    assert names(db, GITLAB, "grp") == {"p1"}
    found = errors(db)
    assert len(found) == 4
    assert any("'grp/p2'" in e and "star_count" in e for e in found)
    assert any("item 2" in e and "'path_with_namespace' is missing" in e for e in found)
    assert any("'grp/p4'" in e and "'namespace'" in e for e in found)
    assert any("item 4" in e for e in found)
    assert_run_ended(db, report)


def test_a_malformed_page_fails_its_account_only() -> None:
    def pages(login: str, cursor: str | None) -> dict[str, Any]:
        if login == "broken":
            return {"totalCount": 2, "nodes": "nothing here", "pageInfo": {}}
        return connection([gh_repo(login, "kept")], 1)

    with HostileServer(github_route({"broken": 2, "fine": 1}, pages)) as server:
        db = store.open_db()
        report = crawl(github_config(server, "broken", "fine"), db, environ=TOKEN, retry=QUICK)
    assert status(db, GITHUB, "broken") == "failed"
    assert status(db, GITHUB, "fine") == "ok"
    assert names(db, GITHUB, "fine") == {"kept"}
    (error,) = errors(db)
    assert "MalformedResponse" in error and "'nodes' is a string" in error
    assert_run_ended(db, report)


def http_date(seconds_from_now: float) -> str:
    moment = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds_from_now)
    return email.utils.format_datetime(moment, usegmt=True)


@pytest.mark.parametrize("value", ["date", "-5", "soon"])
def test_gitlab_retry_after_as_a_date_or_garbage_is_waited_or_ignored(value: str) -> None:
    tries: dict[str, int] = {}

    def listing(group: str, seen: Seen) -> Answer:
        tries[group] = tries.get(group, 0) + 1
        if tries[group] == 1:
            header = http_date(1) if value == "date" else value
            return json_answer({"message": "429 Too Many Requests"}, 429, **{"Retry-After": header})
        return json_answer([gl_project(group, 1)])

    with HostileServer(gitlab_route(listing)) as server:
        db = store.open_db()
        report = crawl(gitlab_config(server, "grp"), db, retry=QUICK)
    assert report.accounts_failed == 0, errors(db)
    assert names(db, GITLAB, "grp") == {"p1"}
    assert tries["grp"] == 2


@pytest.mark.parametrize("value", ["date", "-5", "soon"])
def test_github_retry_after_as_a_date_or_garbage_is_waited_or_ignored(value: str) -> None:
    tries = {"pages": 0}

    def pages(login: str, cursor: str | None) -> dict[str, Any] | Answer:
        tries["pages"] += 1
        if tries["pages"] == 1:
            header = http_date(1) if value == "date" else value
            return json_answer({"message": "busy"}, 503, **{"Retry-After": header})
        return connection([gh_repo(login, "kept")], 1)

    with HostileServer(github_route({"org": 1}, pages)) as server:
        db = store.open_db()
        report = crawl(github_config(server, "org"), db, environ=TOKEN, retry=QUICK)
    assert report.accounts_failed == 0, errors(db)
    assert names(db, GITHUB, "org") == {"kept"}
    assert tries["pages"] == 2


@pytest.mark.parametrize("code", [301, 302, 307, 308])
def test_github_redirect_fails_the_account_not_the_forge(code: int) -> None:
    """A 3xx answer to a query is an error for that account: never followed, never taken as
    data (its body here even looks like an answer), never an unexpected error."""

    def pages(login: str, cursor: str | None) -> dict[str, Any] | Answer:
        if login == "moved":
            trap = {"data": {"o0": {"login": login, "repositories": connection([], 0)}}}
            return json_answer(trap, code, Location="/elsewhere/graphql")
        return connection([gh_repo(login, "kept")], 1)

    with HostileServer(github_route({"moved": 3, "fine": 1}, pages)) as server:
        db = store.open_db()
        report = crawl(github_config(server, "moved", "fine"), db, environ=TOKEN, retry=QUICK)
        followed = [s for s in server.requests if s.route != "/graphql"]
    assert not followed
    assert status(db, GITHUB, "moved") == "failed"
    assert status(db, GITHUB, "fine") == "ok"
    assert names(db, GITHUB, "fine") == {"kept"}
    (error,) = errors(db)
    assert f"HTTP {code}" in error and "unexpected" not in error
    assert_run_ended(db, report)


def test_a_github_answer_cut_midway_is_retried() -> None:
    tries = {"pages": 0}

    def pages(login: str, cursor: str | None) -> dict[str, Any] | Answer:
        tries["pages"] += 1
        page = connection([gh_repo(login, f"r{k}") for k in range(30)], 30)
        if tries["pages"] == 1:
            answer = json_answer({"data": {"o0": {"login": login, "repositories": page}}})
            answer.reset = True
            return answer
        return page

    with HostileServer(github_route({"org": 30}, pages)) as server:
        db = store.open_db()
        report = crawl(github_config(server, "org"), db, environ=TOKEN, retry=QUICK)
    assert report.accounts_failed == 0, errors(db)
    assert len(names(db, GITHUB, "org")) == 30
    assert tries["pages"] == 2
    # the retry counts as a request: survey, cut page, page again
    assert report.requests == 3


def test_a_gitlab_answer_cut_midway_is_retried() -> None:
    lock = threading.Lock()
    tries = {"grp": 0}

    def listing(group: str, seen: Seen) -> Answer:
        with lock:
            tries[group] += 1
            first = tries[group] == 1
        answer = json_answer([gl_project(group, k) for k in range(1, 31)])
        answer.reset = first
        return answer

    with HostileServer(gitlab_route(listing)) as server:
        db = store.open_db()
        report = crawl(gitlab_config(server, "grp"), db, retry=QUICK)
    assert report.accounts_failed == 0, errors(db)
    assert len(names(db, GITLAB, "grp")) == 30
    assert tries["grp"] == 2


def test_five_percent_of_resets_mid_answer_fail_no_account() -> None:
    """The demo's case on the local forge: 5 % of GitHub's answers cut after half their body
    (GraphQL through PyGithub; GitLab's own case is above); every account comes out whole."""
    hosts = ("github.com",)
    with LocalForge(Dataset.load(), fault_rate=0.05, fault_kinds=("reset",), seed=5) as forge:
        forges = tuple(
            ForgeConfig(
                host,
                forge.dataset.kind(host),
                forge.api_url(host),
                tuple(
                    OwnerConfig(host, a.login, line=i + 1)
                    for i, a in enumerate(forge.dataset.accounts(host)[:12])
                ),
            )
            for host in hosts
        )
        db = store.open_db()
        # as many tries as test_resilience: seeded draws can cut one request several times
        patient = RetryPolicy(attempts=8, backoff=0.01, max_wait=5, timeout=10)
        report = crawl(Config("test", forges), db, environ=TOKEN, retry=patient)
        faults = {host: forge.stats[host]["faults"] for host in hosts}
    assert all(faults.values()), faults
    assert report.accounts_failed == 0, errors(db)
    assert report.accounts_ok == 12
    assert_run_ended(db, report)
