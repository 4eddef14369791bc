"""The local forge's GraphQL answers are graphql-core's own, in full, over real HTTP.

The forge parses valid queries without locations (they only show in errors) and re-parses with
them whatever has errors to report: every answer here is compared with graphql-core's plain
path (a parse with locations, its validation, its executor) on the same schema and data.
"""

from __future__ import annotations

import pytest
import requests
from graphql import GraphQLError, execute_sync, parse, validate

from localforge import LocalForge
from localforge.github_graphql import Context, schema

TOKEN = {"Authorization": "token documents-test"}

INVALID = [
    "{ viewer { nope } }",
    "{ viewer { ",
    '# a comment\r\n{ viewer {\r login """block""" } }',
    # several errors, over several lines, in an operation and a fragment
    """query Many($unused: Int) {
  viewer { login nme }
  organization(login: 3) { ...Missing ...Owner }
}
fragment Owner on Organization { login(x: 1) description { text } }
""",
    "{ viewer { login login: id } }",
    "query A { viewer { login } } query A { viewer { id } }",
]

# Aliases, a fragment, variables, connections, nested objects and lists, as crawls send them.
VALID = """
query Survey($l0: String!, $l1: String!, $first: Int = 3) {
  o0: repositoryOwner(login: $l0) { ...OwnerFields }
  o1: repositoryOwner(login: $l1) { ...OwnerFields }
  o2: repositoryOwner(login: "no-such-login-xyz") { login }
}
fragment OwnerFields on RepositoryOwner {
  __typename login
  ... on Organization { name description }
  repositories(first: $first, privacy: PUBLIC, orderBy: {field: PUSHED_AT, direction: DESC}) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      nameWithOwner isFork stargazerCount pushedAt
      licenseInfo { spdxId }
      primaryLanguage { name }
      repositoryTopics(first: 5) { nodes { topic { name } } }
      defaultBranchRef { name target { ... on Commit { committedDate history { totalCount } } } }
      object(expression: "HEAD:") { ... on Tree { entries { name type } } }
    }
  }
}
"""

# Errors raised while executing: NOT_FOUND beside data, a bad cursor, bad variables.
EXECUTION_ERRORS = [
    (
        """{
  a: organization(login: "etalab") { login }
  b: organization(login: "no-such-login-xyz") { login }
      c: user(login: "etalab") { login }
  d: repository(owner: "etalab", name: "nope-nope") { name } node(id: "R_xx") { id }
}""",
        {},
    ),
    (
        '{ organization(login: "etalab") {\n  repositories(first: 2, after: "bad") '
        "{ nodes { name } } } }",
        {},
    ),
    ("query Q($l: String!) {\n  repositoryOwner(login: $l) { login } }", {}),
    ("query Q($l: String!) {\n  repositoryOwner(login: $l) { login } }", {"l": 3}),
]


def post(forge: LocalForge, query: str, variables: dict | None = None) -> dict:
    response = requests.post(
        f"{forge.api_url('github.com')}/graphql",
        json={"query": query, "variables": variables or {}},
        headers=TOKEN,
        timeout=30,
    )
    assert response.status_code == 200
    body: dict = response.json()
    return body


def github_form(error: GraphQLError) -> dict:
    """graphql-core's formatted error, with its ``type`` extension at the top as GitHub has it."""
    formatted = dict(error.formatted)
    extensions = dict(formatted.pop("extensions", None) or {})
    if "type" in extensions:
        formatted["type"] = extensions.pop("type")
    if extensions:
        formatted["extensions"] = extensions
    return formatted


def context(forge: LocalForge) -> Context:
    return Context(forge.dataset, "github.com", rate_limit={})


@pytest.mark.parametrize("query", INVALID)
def test_invalid_query_errors_are_graphql_cores_own(localforge, query):
    try:
        expected = [github_form(e) for e in validate(schema(), parse(query))]
    except GraphQLError as syntax:
        expected = [github_form(syntax)]
    assert expected, "each of these queries is invalid"
    assert all("locations" in error for error in expected[:1])
    assert post(localforge, query) == {"errors": expected}
    assert post(localforge, query) == {"errors": expected}  # the cached answer too


def test_valid_query_answer_is_graphql_cores_own(localforge):
    variables = {"l0": "etalab", "l1": "DISIC"}
    expected = execute_sync(
        schema(), parse(VALID), context_value=context(localforge), variable_values=variables
    )
    assert expected.errors is None
    assert expected.data and expected.data["o0"]["repositories"]["nodes"]
    assert post(localforge, VALID, variables) == {"data": expected.data}


@pytest.mark.parametrize(("query", "variables"), EXECUTION_ERRORS)
def test_execution_errors_carry_graphql_cores_locations(localforge, query, variables):
    expected = execute_sync(
        schema(), parse(query), context_value=context(localforge), variable_values=variables
    )
    assert expected.errors
    assert all(error.locations for error in expected.errors)
    body = post(localforge, query, variables)
    assert body["errors"] == [github_form(e) for e in expected.errors]
    if expected.data is not None:
        assert body["data"] == expected.data


def test_pagination_errors_point_at_their_connection(localforge):
    query = (
        '{ organization(login: "etalab") {\n'
        "  first: repositories(first: 101) { nodes { name } }\n"
        "     none: repositories { nodes { name } } } }"
    )
    body = post(localforge, query)
    assert [e["type"] for e in body["errors"]] == [
        "EXCESSIVE_PAGINATION",
        "MISSING_PAGINATION_BOUNDARIES",
    ]
    lines = query.split("\n")
    pointed = [
        lines[e["locations"][0]["line"] - 1][e["locations"][0]["column"] - 1 :]
        for e in body["errors"]
    ]
    assert pointed == ["first: repositories(first: 101) { nodes { name } }", lines[2].lstrip()]
