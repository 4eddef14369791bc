"""Edge cases of the GitHub adapter on canned answers (`responses`): malformed payloads,
errors that come with HTTP 200, a pagination loop."""

import json

import pytest
import responses

from crawler.forges.base import MalformedResponse, QueryRejected, RateLimited, RetryPolicy
from crawler.forges.github import GitHubForge, _Page, pages_query, survey_query
from crawler.models import ForgeConfig, OwnerConfig

# PyGithub 2.10 sends requests to https://api.github.com:443/...: mocks need the port.
GRAPHQL = "https://api.github.com:443/graphql"
ACCOUNT = OwnerConfig("github.com", "etalab")


def forge() -> GitHubForge:
    return GitHubForge(
        ForgeConfig("github.com", "github", "https://api.github.com", (ACCOUNT,)),
        "t0ken",
        max_concurrency=1,
        retry=RetryPolicy(attempts=2, backoff=0.01, max_wait=1),
    )


@responses.activate
def test_answer_without_data_is_malformed():
    responses.post(GRAPHQL, json={"something": "else"})
    with pytest.raises(MalformedResponse):
        forge().graphql("{ viewer { login } }", {})


@responses.activate
def test_rate_limit_error_with_http_200():
    responses.post(
        GRAPHQL,
        json={
            "errors": [
                {"type": "RATE_LIMITED", "message": "API rate limit exceeded for user ID 1."}
            ]
        },
    )
    with pytest.raises(RateLimited, match="rate limit"):
        forge().graphql("{ viewer { login } }", {})


@responses.activate
def test_validation_error_is_a_rejected_query():
    responses.post(
        GRAPHQL,
        json={
            "errors": [
                {"message": "Field 'nope' doesn't exist on type 'Query'", "path": ["query", "nope"]}
            ]
        },
    )
    with pytest.raises(QueryRejected, match="nope"):
        forge().graphql("{ nope }", {})


@responses.activate
def test_token_is_sent_and_user_agent_names_the_project():
    responses.post(GRAPHQL, json={"data": {"rateLimit": {"remaining": 4999}}})
    f = forge()
    f.graphql("{ rateLimit { remaining } }", {})
    request = responses.calls[0].request
    assert request.headers["Authorization"] == "token t0ken"
    assert "codegouv-inventory" in request.headers["User-Agent"]
    assert f.requests == 1 and f.budget_left == 4999


def _page(cursor: str, has_next: bool = True) -> dict:
    return {
        "data": {
            "rateLimit": {"remaining": 10},
            "o0": {
                "login": "etalab",
                "repositories": {
                    "totalCount": 300,
                    "pageInfo": {"hasNextPage": has_next, "endCursor": cursor},
                    "nodes": [],
                },
            },
        }
    }


@responses.activate
def test_a_cursor_that_repeats_is_a_pagination_loop_not_an_endless_crawl():
    responses.post(GRAPHQL, json=_page("abc"))
    f = forge()
    with pytest.raises(MalformedResponse, match="pagination loop"):
        list(f._pages([_Page(ACCOUNT, 100)]))
    assert len(responses.calls) == 2


@responses.activate
def test_logins_travel_as_variables_never_inside_the_query():
    responses.post(GRAPHQL, json={"data": {"rateLimit": {}, "o0": None}})
    evil = OwnerConfig("github.com", 'x") { id } evil: viewer { login')
    plan = forge().plan([evil])
    body = json.loads(responses.calls[0].request.body)
    assert evil.login not in body["query"] and body["variables"]["l0"] == evil.login
    assert "not found" in plan.done[0].error


def test_query_builders_alias_each_account():
    q = survey_query(3)
    assert "o2: repositoryOwner(login: $l2)" in q and "$l2: String!" in q
    q = pages_query([_Page(ACCOUNT, 7), _Page(ACCOUNT, 100, "c")])
    assert "repositories(first: 7, after: $c0" in q and "first: 100, after: $c1" in q


@responses.activate
def test_a_files_query_github_times_out_on_is_split_in_two():
    from crawler.forges.github import _Held, _Wanted
    from crawler.models import Repository, RepositoryPage

    sizes = []

    def answer(request):
        variables = json.loads(request.body)["variables"]
        size = sum(1 for name in variables if name.startswith("o"))
        sizes.append(size)
        if size > 1:
            return (502, {}, json.dumps({"message": "Something went wrong"}))
        tagged = {"text": "SPDX-License-Identifier: EUPL-1.2\n"}
        return (200, {}, json.dumps({"data": {"r0": {"f0": tagged}}}))

    responses.add_callback(responses.POST, GRAPHQL, callback=answer)
    repositories = tuple(
        Repository(
            "github.com",
            "etalab",
            name,
            f"https://github.com/etalab/{name}",
            licence="NOASSERTION",
            licence_source="forge",
        )
        for name in ("a", "b")
    )
    held = _Held(RepositoryPage(ACCOUNT, repositories, None), print, [])
    wanted = [(held, 0, _Wanted(("LICENSE",))), (held, 1, _Wanted(("LICENCE.md",)))]
    forge()._read(wanted)
    assert sizes == [2, 1, 1]
    assert [(r.licence, r.licence_source) for r in held.event.repositories] == [
        ("EUPL-1.2", "detected"),
        ("EUPL-1.2", "detected"),
    ]
