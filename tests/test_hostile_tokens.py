"""Tokens stay with their forge (issue 9): hostile forges over real HTTP, through the real
clients and pipeline, with recognisable fake tokens.

Two hostile servers play two hosts: the forge, and another host that must never see a token.
After each crawl: the other host saw no token (nor, mostly, any request), the account is failed
with a clear error and keeps its rows (nothing marked removed), and the token appears nowhere in
the SQLite files, the captured logs or the command's output.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hostile import Answer, HostileServer, Seen, json_answer

from crawler import db as store
from crawler import redact
from crawler.config import token_variables
from crawler.forges.base import RetryPolicy
from crawler.forges.session import ForgeSession, OffForgeRequest
from crawler.models import (
    AccountDone,
    Config,
    ForgeConfig,
    Owner,
    OwnerConfig,
    Repository,
    RepositoryPage,
)
from crawler.pipeline import crawl

ROOT = Path(__file__).resolve().parent.parent
CODEGOUV = [sys.executable, "-m", "crawler"]
GITLAB_TOKEN = "glpat-FAKE-TOKEN-0123456789"
GITHUB_TOKEN = "ghp_FAKETOKEN0123456789"
QUICK = RetryPolicy(attempts=2, backoff=0.01, max_wait=1, timeout=10)
GITLAB_HOST = "gitlab.example.org"
GITHUB_HOST = "github.com"


# --- a small GitLab, scriptable --------------------------------------------------------------


def project(number: int, name: str) -> dict[str, object]:
    return {
        "id": number,
        "path_with_namespace": f"acme/{name}",
        "namespace": {"full_path": "acme", "kind": "group"},
        "visibility": "public",
        "web_url": f"https://{GITLAB_HOST}/acme/{name}",
        "description": f"projet {name}",
        "default_branch": None,
        "empty_repo": True,
        "created_at": "2020-01-01T00:00:00Z",
        "last_activity_at": "2020-01-02T00:00:00Z",
    }


PROJECTS = [project(1, "one"), project(2, "two")]


@dataclass
class FakeGitLab:
    """Answers a group ``acme`` with two projects; ``listing`` replaces the projects listing's
    answer once the account is stored (the hostile part)."""

    listing: Callable[[Seen], Answer] | None = None
    """None: the normal answer; else the answer to give, from the request."""
    seen_token: list[str] = field(default_factory=list)

    def __call__(self, seen: Seen) -> Answer:
        token = seen.headers.get("PRIVATE-TOKEN", "")
        if token:
            self.seen_token.append(token)
        if seen.route == "/api/v4/groups/acme":
            return json_answer({"id": 7, "full_path": "acme", "name": "Acme"})
        if seen.route == "/api/v4/groups/acme/projects":
            if self.listing is not None:
                return self.listing(seen)
            return json_answer(PROJECTS)
        return json_answer({"message": "404 Not Found"}, 404)


@pytest.fixture()
def other() -> Iterator[HostileServer]:
    """The other host: 127.0.0.2 is loopback too, but another host than 127.0.0.1."""
    with HostileServer(lambda seen: json_answer([project(99, "foreign")]), "127.0.0.2") as server:
        yield server


@pytest.fixture()
def other_port() -> Iterator[HostileServer]:
    """The forge's host on another port: another origin all the same."""
    with HostileServer(lambda seen: json_answer([project(99, "foreign")])) as server:
        yield server


def gitlab_config(server: HostileServer) -> Config:
    forge = ForgeConfig(
        GITLAB_HOST, "gitlab", f"{server.url}/api/v4", (OwnerConfig(GITLAB_HOST, "acme"),)
    )
    return Config("test", (forge,))


def environ_for(config: Config, token: str) -> dict[str, str]:
    return {v: token for f in config.forges for v in token_variables(f)}


def db_bytes(path: Path) -> bytes:
    """The database as stored: the file and its write-ahead log."""
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def rows(path: Path, sql: str) -> list[dict[str, object]]:
    db = store.open_db(path)
    try:
        return list(db.query(sql))
    finally:
        db.close()


@pytest.fixture()
def gitlab_forge(tmp_path: Path) -> Iterator[tuple[HostileServer, FakeGitLab, Path]]:
    """A GitLab forge whose account was crawled once, fine: two repositories stored."""
    fake = FakeGitLab()
    with HostileServer(fake) as server:
        path = tmp_path / "inventory.db"
        config = gitlab_config(server)
        db = store.open_db(path)
        report = crawl(config, db, environ=environ_for(config, GITLAB_TOKEN), retry=QUICK)
        db.close()
        assert report.accounts_failed == 0
        assert fake.seen_token == [GITLAB_TOKEN] * len(fake.seen_token) and fake.seen_token
        yield server, fake, path


def crawl_again(server: HostileServer, path: Path, token: str = GITLAB_TOKEN):
    config = gitlab_config(server)
    db = store.open_db(path)
    try:
        return crawl(config, db, environ=environ_for(config, token), retry=QUICK)
    finally:
        db.close()


def assert_account_failed_and_kept(path: Path, *fragments: str) -> str:
    """The account is failed, its two repositories kept (none removed, nothing foreign added);
    returns its recorded error, which holds every fragment."""
    owner = rows(path, "select crawl_status from owners where id = 'gitlab.example.org/acme'")
    assert owner == [{"crawl_status": "failed"}]
    stored = rows(path, "select id, removed_at from repositories order by id")
    assert stored == [
        {"id": "gitlab.example.org/acme/one", "removed_at": None},
        {"id": "gitlab.example.org/acme/two", "removed_at": None},
    ]
    errors = rows(path, "select error from crawl_errors")
    assert len(errors) == 1
    error = str(errors[0]["error"])
    for fragment in fragments:
        assert fragment in error, error
    return error


def assert_token_nowhere(token: str, path: Path, *texts: str) -> None:
    assert token.encode() not in db_bytes(path)
    for text in texts:
        assert token not in text


# --- redirects ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_gitlab_redirect_to_another_host_is_not_followed(gitlab_forge, other, caplog, status):
    server, fake, path = gitlab_forge
    caplog.set_level(logging.DEBUG)
    target = f"{other.url}/api/v4/groups/acme/projects"
    fake.listing = lambda seen: Answer(status, headers={"Location": target})

    report = crawl_again(server, path)

    assert report.accounts_failed == 1
    assert other.requests == []  # not followed at all, so no token either
    assert not other.saw_token(GITLAB_TOKEN)
    assert_account_failed_and_kept(path, "RedirectRefused", f"HTTP {status}", target)
    assert_token_nowhere(GITLAB_TOKEN, path, caplog.text)


def test_gitlab_redirect_to_another_port_or_scheme_is_not_followed(gitlab_forge, other_port):
    server, fake, path = gitlab_forge
    for target in (
        f"{other_port.url}/api/v4/groups/acme/projects",
        f"https://127.0.0.1:{server.port}/api/v4/groups/acme/projects",
    ):
        fake.listing = lambda seen, target=target: Answer(302, headers={"Location": target})
        report = crawl_again(server, path)
        assert report.accounts_failed == 1
        assert "RedirectRefused" in rows(path, "select error from crawl_errors")[-1]["error"]
    assert other_port.requests == []


def test_gitlab_redirect_on_the_forge_reports_the_account_moved(gitlab_forge):
    server, fake, path = gitlab_forge
    fake.listing = lambda seen: Answer(301, headers={"Location": "/api/v4/groups/acme-2/projects"})

    report = crawl_again(server, path)

    assert report.accounts_failed == 1
    assert_account_failed_and_kept(path, "AccountMoved", "acme-2", "renamed or moved")
    # reported, not followed: the new place is for the configuration to name
    assert not [s for s in server.requests if "acme-2" in s.path]


def test_gitlab_profile_redirected_elsewhere_fails_the_account(tmp_path, other):
    """A first crawl (the profile is read): the group's redirect is no more followed."""
    fake = FakeGitLab()
    with HostileServer(
        lambda seen: (
            Answer(302, headers={"Location": f"{other.url}/api/v4/groups/x"})
            if seen.route == "/api/v4/groups/acme"
            else fake(seen)
        )
    ) as server:
        path = tmp_path / "inventory.db"
        config = gitlab_config(server)
        db = store.open_db(path)
        report = crawl(config, db, environ=environ_for(config, GITLAB_TOKEN), retry=QUICK)
        db.close()
    assert report.accounts_failed == 1
    assert other.requests == []
    assert rows(path, "select count(*) as n from repositories") == [{"n": 0}]
    (error,) = rows(path, "select error from crawl_errors")
    assert "RedirectRefused" in str(error["error"]) and other.url in str(error["error"])


# --- next-page links -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "link",
    [
        "{forge}/api/v4{other}/api/v4/groups/acme/projects?page=2",  # joined into OTHER once
        "{other}/api/v4/groups/acme/projects?page=2",
        "{other_port}/api/v4/groups/acme/projects?page=2",
        "https://127.0.0.1:{port}/api/v4/groups/acme/projects?page=2",
        "{forge}/elsewhere/groups/acme/projects?page=2",
    ],
)
def test_gitlab_next_link_off_the_forge_is_an_error(gitlab_forge, other, other_port, link):
    server, fake, path = gitlab_forge
    url = link.format(
        forge=server.url, other=other.url, other_port=other_port.url, port=server.port
    )
    fake.listing = lambda seen: json_answer([project(3, "three")], Link=f'<{url}>; rel="next"')

    report = crawl_again(server, path)

    assert report.accounts_failed == 1
    assert other.requests == [] and other_port.requests == []
    assert_account_failed_and_kept(path, "MalformedResponse", "next page link outside")
    # the group's listing, once per crawl (the re-crawl's instance-wide question aside)
    assert len([s for s in server.requests if s.route.endswith("/acme/projects")]) == 2


def test_gitlab_next_link_on_the_forge_is_followed(gitlab_forge):
    """The check lets the forge's own links through: two pages, both read."""
    server, fake, path = gitlab_forge

    def listing(seen: Seen) -> Answer:
        if seen.query.get("page") == ["2"]:
            return json_answer([PROJECTS[1]])
        url = f"{server.url}/api/v4/groups/acme/projects?page=2&per_page=1"
        return json_answer([PROJECTS[0]], Link=f'<{url}>; rel="next"')

    fake.listing = listing
    report = crawl_again(server, path)
    assert report.accounts_failed == 0
    assert len(rows(path, "select id from repositories where removed_at is null")) == 2


def test_a_stored_cursor_off_the_forge_is_never_requested(gitlab_forge, other, caplog):
    """A cursor saved by an older version (the joined link) is dropped, not sent: the
    listing starts over on the forge."""
    server, _fake, path = gitlab_forge
    db = store.open_db(path)
    db.execute(
        "update _crawl_state set cursor = ?, started_run = 1, completed_at = null, "
        "updated_at = ? where unit like '%acme%'",
        [f"{other.url}/api/v4/groups/acme/projects?page=2", store.utcnow()],
    )
    db.conn.commit()
    db.close()
    before = len(server.requests)

    report = crawl_again(server, path)

    assert report.accounts_failed == 0
    assert other.requests == []
    assert "stored cursor" in caplog.text and "dropped" in caplog.text
    listed = [s for s in server.requests[before:] if s.route == "/api/v4/groups/acme/projects"]
    assert len(listed) == 1 and "page" not in listed[0].query
    assert len(rows(path, "select id from repositories where removed_at is null")) == 2


def test_the_session_sends_nothing_outside_the_forge(other):
    """Whatever code asks for it, a URL off the forge's API origin is refused unsent."""
    with HostileServer(lambda seen: json_answer([])) as forge:
        session = ForgeSession(f"{forge.url}/api/v4")
        session.headers["PRIVATE-TOKEN"] = GITLAB_TOKEN
        assert session.get(f"{forge.url}/api/v4/projects").status_code == 200
        for url in (f"{other.url}/api/v4/projects", f"https://127.0.0.1:{forge.port}/api/v4"):
            with pytest.raises(OffForgeRequest):
                session.get(url)
    assert other.requests == []
    assert forge.saw_token(GITLAB_TOKEN) and len(forge.requests) == 1


def test_a_proxy_from_the_environment_carries_every_request_of_a_session(other, monkeypatch):
    """The environment's proxy (an AMD's network often has one) is read once per session and
    used for each of its requests; a later session sees a changed environment (NO_PROXY)."""
    with HostileServer(lambda seen: json_answer([])) as forge:
        for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", other.url)
        session = ForgeSession(f"{forge.url}/api/v4")
        for _ in range(3):
            assert session.get(f"{forge.url}/api/v4/projects").status_code == 200
        assert [seen.path for seen in other.requests] == [f"{forge.url}/api/v4/projects"] * 3
        assert forge.requests == []
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        direct = ForgeSession(f"{forge.url}/api/v4")
        assert direct.get(f"{forge.url}/api/v4/projects").status_code == 200
        assert len(forge.requests) == 1 and len(other.requests) == 3


# --- tokens echoed by the forge ----------------------------------------------------------------


def echo(status: int, pad: int = 0):
    """An answer that echoes the token the forge received, as some error pages do."""

    def answer(seen: Seen) -> Answer:
        token = seen.headers.get("PRIVATE-TOKEN", "")
        message = "x" * pad + f"Bad credentials: token {token} is not valid"
        return json_answer({"message": message}, status)

    return answer


@pytest.mark.parametrize(
    ("status", "pad"),
    [(403, 0), (400, 0), (422, 300 - len("Bad credentials: token ") - 10), (500, 0)],
)
def test_gitlab_echoed_token_is_masked_in_the_database_and_logs(gitlab_forge, caplog, status, pad):
    server, fake, path = gitlab_forge
    caplog.set_level(logging.DEBUG)
    fake.listing = echo(status, pad)

    report = crawl_again(server, path)

    assert report.accounts_failed == 1
    error = assert_account_failed_and_kept(path, f"HTTP {status}")
    assert "***" in error
    assert_token_nowhere(GITLAB_TOKEN, path, caplog.text, error)
    # not even the token's beginning, when the message was cut at its length limit
    assert GITLAB_TOKEN[:8] not in error and GITLAB_TOKEN[:8] not in caplog.text


def test_gitlab_token_echoed_in_the_data_is_masked(gitlab_forge, caplog):
    server, fake, path = gitlab_forge
    caplog.set_level(logging.DEBUG)

    def listing(seen: Seen) -> Answer:
        token = seen.headers.get("PRIVATE-TOKEN", "")
        echoed = [{**p, "description": f"votre jeton : {token}"} for p in PROJECTS]
        return json_answer(echoed)

    fake.listing = listing
    report = crawl_again(server, path)
    assert report.accounts_failed == 0
    descriptions = {r["description"] for r in rows(path, "select description from repositories")}
    assert descriptions == {"votre jeton : ***"}
    assert_token_nowhere(GITLAB_TOKEN, path, caplog.text)


def test_gitlab_token_in_a_next_link_is_refused_and_masked(gitlab_forge, caplog):
    server, fake, path = gitlab_forge
    caplog.set_level(logging.DEBUG)

    def listing(seen: Seen) -> Answer:
        token = seen.headers.get("PRIVATE-TOKEN", "")
        url = f"{server.url}/api/v4/groups/acme/projects?page=2&private_token={token}"
        return json_answer(PROJECTS, Link=f'<{url}>; rel="next"')

    fake.listing = listing
    report = crawl_again(server, path)
    assert report.accounts_failed == 1
    assert_account_failed_and_kept(path, "MalformedResponse", "carries the token")
    assert_token_nowhere(GITLAB_TOKEN, path, caplog.text)


# --- GitHub ----------------------------------------------------------------------------------


def github_config(server: HostileServer) -> Config:
    forge = ForgeConfig(GITHUB_HOST, "github", server.url, (OwnerConfig(GITHUB_HOST, "etalab"),))
    return Config("test", (forge,))


def seed_github(path: Path, config: Config) -> None:
    """Rows of an earlier crawl, saved through the real save functions."""
    account = config.forges[0].owners[0]
    db = store.open_db(path)
    store.save_forge(db, config.forges[0], "ok")
    run_id = store.start_run(db)
    repository = Repository(GITHUB_HOST, "etalab", "one", "https://github.com/etalab/one")
    store.save_page(db, RepositoryPage(account, (repository,), None), run_id)
    owner = Owner(forge=GITHUB_HOST, login="etalab", kind="organization")
    store.finish_account(db, AccountDone(account, owner), run_id)
    db.close()


def crawl_github(server: HostileServer, path: Path):
    config = github_config(server)
    seed_github(path, config)
    db = store.open_db(path)
    try:
        return crawl(config, db, environ=environ_for(config, GITHUB_TOKEN), retry=QUICK)
    finally:
        db.close()


def assert_github_kept(path: Path) -> None:
    stored = rows(path, "select id, removed_at from repositories")
    assert stored == [{"id": "github.com/etalab/one", "removed_at": None}]
    assert rows(path, "select crawl_status from owners") == [{"crawl_status": "failed"}]


@pytest.mark.parametrize("status", [301, 302, 307, 308])
@pytest.mark.parametrize("where", ["other", "other_port"])
def test_github_graphql_redirect_elsewhere_is_not_followed(
    tmp_path, request, caplog, status, where
):
    target_server: HostileServer = request.getfixturevalue(where)
    caplog.set_level(logging.DEBUG)
    target = f"{target_server.url}/graphql"
    with HostileServer(lambda seen: Answer(status, headers={"Location": target})) as server:
        path = tmp_path / "inventory.db"
        report = crawl_github(server, path)
        assert server.saw_token(GITHUB_TOKEN)  # the forge itself got it, as it should
    assert report.accounts_failed == 1
    assert target_server.requests == []
    assert not target_server.saw_token(GITHUB_TOKEN)
    assert_github_kept(path)
    assert_token_nowhere(GITHUB_TOKEN, path, caplog.text)


def test_github_echoed_token_is_masked(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)

    def answer(seen: Seen) -> Answer:
        token = seen.headers.get("Authorization", "").split()[-1]
        return json_answer({"errors": [{"message": f"token {token} cannot read this"}]})

    with HostileServer(answer) as server:
        path = tmp_path / "inventory.db"
        report = crawl_github(server, path)
        assert server.saw_token(GITHUB_TOKEN)
    assert report.accounts_failed == 1
    errors = [str(r["error"]) for r in rows(path, "select error from crawl_errors")]
    assert errors and all("token *** cannot read this" in e for e in errors)
    assert_github_kept(path)
    assert_token_nowhere(GITHUB_TOKEN, path, caplog.text)


# --- the command line --------------------------------------------------------------------------


def test_cli_never_prints_nor_stores_an_echoed_token(tmp_path):
    fake = FakeGitLab(listing=echo(403))
    with HostileServer(fake) as server:
        config = tmp_path / "organisations.yml"
        config.write_text(
            f"{GITLAB_HOST}:\n  forge: gitlab\n  api_url: {server.url}/api/v4\n"
            "  owners:\n    acme:\n",
            encoding="utf-8",
        )
        path = tmp_path / "inventory.db"
        variable = token_variables(gitlab_config(server).forges[0])[0]
        result = subprocess.run(
            [*CODEGOUV, "crawl", "-vv", "--config", str(config), "--db", str(path)],
            capture_output=True,
            text=True,
            check=False,
            cwd=ROOT,
            timeout=120,
            env={"PATH": "/usr/bin:/bin", variable: GITLAB_TOKEN, "COLUMNS": "200"},
        )
    assert fake.seen_token and set(fake.seen_token) == {GITLAB_TOKEN}
    assert result.returncode == 1, result.stderr
    assert "***" in result.stderr
    assert_token_nowhere(GITLAB_TOKEN, path, result.stdout, result.stderr)


# --- the masking itself ------------------------------------------------------------------------


def test_mask_covers_encodings_and_a_cut_token():
    redact.register(GITLAB_TOKEN)
    assert redact.mask(f"a {GITLAB_TOKEN} b") == "a *** b"
    redact.register("ghp_FAKE+TOKEN/0123=")
    assert redact.mask("?t=ghp_FAKE%2BTOKEN%2F0123%3D&x") == "?t=***&x"
    assert redact.mask("...token glpat-FAKE-TO") == "...token ***"
    assert redact.mask("nothing secret here") == "nothing secret here"
    redact.register("short")  # too short to be a token: never masked
    assert redact.mask("a short word") == "a short word"
