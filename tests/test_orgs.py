"""`codegouv orgs validate / add / check` as an AMD runs them: on a copy of the real accounts
file, and against the local forge over real HTTP."""

from __future__ import annotations

import difflib
import json
import shutil
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from click.testing import CliRunner
from hostile import Answer, HostileServer, endless, json_answer

from crawler.cli import main
from crawler.config import load_config
from crawler.orgs import check_accounts, check_targets
from localforge import Dataset, LocalForge

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT / "config" / "organisations.yml"
PSO = "3ed2f725-e077-4973-a531-498e13fc7861"


def codegouv(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture()
def accounts(tmp_path) -> Path:
    """A copy of the real file (with its ministries table beside it, as in config/)."""
    shutil.copy(REAL, tmp_path / "organisations.yml")
    shutil.copy(ROOT / "config" / "ministries.yml", tmp_path / "ministries.yml")
    return tmp_path / "organisations.yml"


def changes(before: str, after: str) -> tuple[list[str], list[str]]:
    """The removed and the added lines between two texts, by difflib."""
    removed, added = [], []
    for line in difflib.ndiff(before.splitlines(keepends=True), after.splitlines(keepends=True)):
        if line.startswith("- "):
            removed.append(line[2:])
        elif line.startswith("+ "):
            added.append(line[2:])
    return removed, added


# --- validate ----------------------------------------------------------------------------------


def test_validate_takes_the_file_as_argument_or_option(accounts):
    assert codegouv("orgs", "validate", str(accounts)).exit_code == 0
    assert codegouv("orgs", "validate", "--config", str(accounts)).exit_code == 0
    accounts.write_text("github.com:\n  forge: github\n  owners:\n    bad login:\n")
    result = codegouv("orgs", "validate", str(accounts))
    assert result.exit_code == 2
    assert f"{accounts}:4:" in result.stderr


# --- add ---------------------------------------------------------------------------------------


def test_add_changes_only_the_added_lines_of_the_real_file(accounts):
    before = accounts.read_text()
    result = codegouv(
        "orgs", "add", "github.com", "nouvelle-orga", "--pso-id", PSO, "--config", str(accounts)
    )
    assert result.exit_code == 0, result.stderr
    after = accounts.read_text()
    removed, added = changes(before, after)
    assert removed == []
    assert added == ["    nouvelle-orga:\n", f"      pso_id: {PSO}\n"]
    # At the end of github.com's owners, before the blank line that ends its block.
    lines = after.splitlines()
    at = lines.index("    nouvelle-orga:")
    assert (
        lines[at - 1]
        == "      ospo_url: https://beta.gouv.fr/startups/grist.numerique.gouv.fr.html"
    )
    assert lines[at + 2 : at + 4] == ["", "gitlab.ow2.org:"]
    # The diff shown is the diff of the file.
    assert f"+    nouvelle-orga:\n+      pso_id: {PSO}\n" in result.stdout
    # And the crawler reads the account, with the ministry derived from its pso_id.
    assert codegouv("orgs", "validate", str(accounts)).exit_code == 0
    owner = next(
        o for o in load_config(accounts).forge("github.com").owners if o.login == "nouvelle-orga"
    )
    assert owner.pso_id == PSO
    assert owner.ministry == "Ministère de l'Éducation nationale et de la Jeunesse"


def test_add_an_owner_without_settings_keeps_the_style_of_its_host(accounts):
    before = accounts.read_text()
    result = codegouv(
        "orgs", "add", "forge.apps.education.fr", "drane-normandie", "--config", str(accounts)
    )
    assert result.exit_code == 0, result.stderr
    removed, added = changes(before, accounts.read_text())
    assert (removed, added) == ([], ["    drane-normandie:\n"])
    assert "    drane-ile-de-france:\n    drane-normandie:\n\ngitlab.orfeo-toolbox.org:" in (
        accounts.read_text()
    )


def test_add_follows_the_quoting_and_indentation_of_the_file(tmp_path):
    path = tmp_path / "organisations.yml"
    path.write_text(
        "# a comment that stays\n"
        "gitlab.com:\n"
        "    forge: gitlab\n"
        "    owners:\n"
        "        groupe-a:\n"
        '            pso_id: "db2b74d4-4dbc-4d7d-ba1b-5762e2cb06b8"  # why\n'
        "        # a comment about groupe-b\n"
        "        groupe-b:\n"
        "\n"
        "github.com:\n"
        "    forge: github\n"
    )
    before = path.read_text()
    result = codegouv(
        "orgs",
        "add",
        "GitLab.com",
        "groupe-c/sous-groupe",
        "--pso-id",
        PSO,
        "--floss-policy",
        "https://example.gouv.fr/politique",
        "--config",
        str(path),
    )
    assert result.exit_code == 0, result.stderr
    removed, added = changes(before, path.read_text())
    assert removed == []
    assert added == [
        "        groupe-c/sous-groupe:\n",
        f'            pso_id: "{PSO}"\n',
        '            floss_policy: "https://example.gouv.fr/politique"\n',
    ]
    assert path.read_text().index("groupe-c") > path.read_text().index("groupe-b")


def test_duplicates_are_refused_whatever_their_case(accounts):
    before = accounts.read_text()
    result = codegouv("orgs", "add", "github.com", "OpenFisca", "--config", str(accounts))
    assert result.exit_code == 2
    assert "github.com/openfisca est déjà inscrit" in result.stderr
    line = before.splitlines().index("    openfisca:") + 1
    assert f"{accounts}:{line}" in result.stderr
    assert accounts.read_text() == before


def test_unknown_host_is_refused_without_forge_and_created_with_it(accounts):
    before = accounts.read_text()
    result = codegouv("orgs", "add", "gitlab.example.gouv.fr", "equipe", "--config", str(accounts))
    assert result.exit_code == 2
    assert "gitlab.example.gouv.fr" in result.stderr and "--forge" in result.stderr
    assert accounts.read_text() == before

    result = codegouv(
        "orgs",
        "add",
        "gitlab.example.gouv.fr",
        "equipe",
        "--forge",
        "gitlab",
        "--pso-id",
        PSO,
        "--config",
        str(accounts),
    )
    assert result.exit_code == 0, result.stderr
    removed, added = changes(before, accounts.read_text())
    assert removed == []
    assert added == [
        "\n",
        "gitlab.example.gouv.fr:\n",
        "  forge: gitlab\n",
        "  owners:\n",
        "    equipe:\n",
        f"      pso_id: {PSO}\n",
    ]
    assert codegouv("orgs", "validate", str(accounts)).exit_code == 0


def test_dry_run_shows_the_diff_and_writes_nothing(accounts):
    before = accounts.read_text()
    stat = accounts.stat()
    result = codegouv("orgs", "add", "github.com", "essai", "--dry-run", "--config", str(accounts))
    assert result.exit_code == 0, result.stderr
    assert "+    essai:\n" in result.stdout
    assert "rien n'est écrit" in result.stdout
    assert accounts.read_text() == before
    assert accounts.stat().st_mtime_ns == stat.st_mtime_ns
    assert sorted(p.name for p in accounts.parent.iterdir()) == [
        "ministries.yml",
        "organisations.yml",
    ]


def test_an_invalid_result_is_refused_with_its_line_and_nothing_is_written(accounts):
    before = accounts.read_text()
    result = codegouv(
        "orgs", "add", "github.com", "orga", "--pso-id", "pas-un-uuid", "--config", str(accounts)
    )
    assert result.exit_code == 2
    assert "pas-un-uuid" in result.stderr and "UUID" in result.stderr
    assert f"{accounts}:" in result.stderr
    assert accounts.read_text() == before
    assert sorted(p.name for p in accounts.parent.iterdir()) == [
        "ministries.yml",
        "organisations.yml",
    ]


def test_whole_instance_forges_and_github_subgroups_are_refused(accounts):
    before = accounts.read_text()
    result = codegouv("orgs", "add", "gitlab.cerema.fr", "groupe", "--config", str(accounts))
    assert result.exit_code == 2
    assert "sans « owners »" in result.stderr
    result = codegouv("orgs", "add", "github.com", "a/b", "--config", str(accounts))
    assert result.exit_code == 2
    assert accounts.read_text() == before


# --- check -------------------------------------------------------------------------------------

TOKEN = "glpat-FAKE-orgs-check-0123456789"


@pytest.fixture(scope="module")
def renaming_forge():
    """A local forge of its own, where one GitHub organisation, one GitHub user and one GitLab
    group were renamed (their old logins are redirected)."""
    dataset = Dataset.load()
    github = dataset.accounts("github.com")
    org = next(a for a in github if a.kind == "organization" and a.repositories_count > 1)
    user = next(a for a in github if a.kind == "user" and a.repositories_count > 0)
    host = next(
        h
        for h in dataset.hosts()
        if dataset.kind(h) == "gitlab"
        and any(a.kind == "group" and dataset.descendants(h, a.login) for a in dataset.accounts(h))
    )
    group = next(
        a
        for a in dataset.accounts(host)
        if a.kind == "group" and dataset.descendants(host, a.login)
    )
    renames = {
        "github.com": {"ancienne-orga": org.login, "ancien-compte": user.login},
        host: {"ancien-groupe": group.login},
    }
    with LocalForge(dataset, renames=renames) as forge:
        yield forge, org, user, host, group


def public_projects(forge: LocalForge, host: str, group: str) -> int:
    """A group's public projects and its subgroups', as the crawler lists them."""
    ds = forge.dataset
    paths = [group, *(a.login for a in ds.descendants(host, group))]
    return sum(1 for p in paths for r in ds.repositories(host, p) if r.visibility == "public")


def forge_config(path: Path, forge: LocalForge, host: str, owners: list[str]) -> Path:
    lines = [
        "github.com:",
        "  forge: github",
        f"  api_url: {forge.api_url('github.com')}",
        "  owners:",
        *(f"    {login}:" for login in owners if "@" not in login),
        f"{host}:",
        "  forge: gitlab",
        f"  api_url: {forge.api_url(host)}",
        "  owners:",
        *(f"    {login[1:]}:" for login in owners if login.startswith("@")),
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_check_reports_existing_missing_and_renamed_accounts(renaming_forge, tmp_path):
    forge, org, user, host, group = renaming_forge
    config = forge_config(
        tmp_path / "organisations.yml",
        forge,
        host,
        [
            org.login,
            user.login,
            "ancienne-orga",
            "ancien-compte",
            "compte-absent",
            f"@{group.login}",
            "@ancien-groupe",
            "@groupe-absent",
        ],
    )
    result = codegouv("orgs", "check", "--json", "--config", str(config))
    assert result.exit_code == 1, result.stderr
    found = {item["account"]: item for item in json.loads(result.stdout)}
    assert list(found) == [
        f"github.com/{org.login}",
        f"github.com/{user.login}",
        "github.com/ancienne-orga",
        "github.com/ancien-compte",
        "github.com/compte-absent",
        f"{host}/{group.login}",
        f"{host}/ancien-groupe",
        f"{host}/groupe-absent",
    ]
    projects = public_projects(forge, host, group.login)
    summary = {
        account: (i["status"], i["kind"], i["repositories"], i["canonical"])
        for account, i in found.items()
    }
    assert summary == {
        f"github.com/{org.login}": ("ok", "organization", org.repositories_count, org.login),
        f"github.com/{user.login}": ("ok", "user", user.repositories_count, user.login),
        "github.com/ancienne-orga": ("renamed", "organization", org.repositories_count, org.login),
        "github.com/ancien-compte": ("renamed", "user", user.repositories_count, user.login),
        "github.com/compte-absent": ("missing", None, None, None),
        f"{host}/{group.login}": ("ok", "group", projects, group.login),
        f"{host}/ancien-groupe": ("renamed", "group", projects, group.login),
        f"{host}/groupe-absent": ("missing", None, None, None),
    }
    assert set(found[f"{host}/ancien-groupe"]) == {
        "account",
        "host",
        "login",
        "status",
        "kind",
        "repositories",
        "canonical",
        "message",
    }
    assert group.login in found[f"{host}/ancien-groupe"]["message"]


def test_check_table_and_exit_0_when_every_account_is_there(renaming_forge, tmp_path):
    forge, org, _user, host, group = renaming_forge
    config = forge_config(
        tmp_path / "organisations.yml", forge, host, ["ancienne-orga", f"@{group.login}"]
    )
    result = codegouv(
        "orgs", "check", f"github.com/{org.login}", f"{host}/{group.login}", "--config", str(config)
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    assert f"github.com/{org.login}" in result.stdout and "organisation" in result.stdout
    assert "ancienne-orga" not in result.stdout  # only the accounts asked for
    assert "2 compte(s) vérifié(s), 0 à corriger." in result.stdout

    result = codegouv("orgs", "check", "github.com/ancienne-orga", "--config", str(config))
    assert result.exit_code == 1
    assert "renommé" in result.stdout and org.login in result.stdout


def test_check_refuses_a_target_on_a_host_not_in_the_file(renaming_forge, tmp_path):
    forge, _org, _user, host, _group = renaming_forge
    config = forge_config(tmp_path / "organisations.yml", forge, host, ["x", "@y"])
    result = codegouv("orgs", "check", "gitlab.inconnu.fr/x", "--config", str(config))
    assert result.exit_code == 2
    assert "gitlab.inconnu.fr" in result.stderr


def hostile_config(path: Path, kind: str, api_url: str, logins: list[str]) -> Path:
    host = "github.com" if kind == "github" else f"{kind}.example.org"
    owners = "".join(f"    {login}:\n" for login in logins)
    path.write_text(f"{host}:\n  forge: {kind}\n  api_url: {api_url}\n  owners:\n{owners}")
    return path


@pytest.mark.parametrize("kind", ["github", "gitlab"])
@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_check_never_follows_a_redirect_to_another_host(tmp_path, kind, status):
    env = {"GITHUB_TOKEN": TOKEN, "GITLAB_TOKEN_GITLAB_EXAMPLE_ORG": TOKEN}
    with HostileServer(lambda seen: json_answer({"login": "x", "full_path": "x"})) as other:

        def route(seen):
            return Answer(status, b"", {"Location": f"{other.url}{seen.path}"})

        with HostileServer(route) as forge:
            api = forge.url if kind == "github" else f"{forge.url}/api/v4"
            config = hostile_config(tmp_path / "organisations.yml", kind, api, ["compte"])
            result = CliRunner(env=env).invoke(
                main, ["orgs", "check", "--json", "--config", str(config)]
            )
            assert result.exit_code == 1, result.output
            (item,) = json.loads(result.stdout)
            assert item["status"] == "error"
            assert "non suivie" in item["message"] and str(other.port) in item["message"]
            # The forge got the token (it is its own); the other host got nothing at all.
            assert forge.saw_token(TOKEN)
            assert other.requests == []


def test_check_follows_a_same_host_redirect_and_reports_the_rename(tmp_path):
    def route(seen):
        if seen.route == "/users/ancien":
            return Answer(301, b"", {"Location": "/user/42"})
        if seen.route == "/user/42":
            return json_answer({"login": "nouveau", "type": "Organization", "public_repos": 7})
        return json_answer({"message": "Not Found"}, 404)

    with HostileServer(route) as forge:
        config = hostile_config(tmp_path / "organisations.yml", "github", forge.url, ["ancien"])
        result = CliRunner(env={"GITHUB_TOKEN": TOKEN}).invoke(
            main, ["orgs", "check", "--json", "--config", str(config)]
        )
        (item,) = json.loads(result.stdout)
        assert (item["status"], item["canonical"], item["repositories"]) == (
            "renamed",
            "nouveau",
            7,
        )
        assert [seen.route for seen in forge.requests] == ["/users/ancien", "/user/42"]
        for seen in forge.requests:
            assert seen.headers["Authorization"] == f"Bearer {TOKEN}"
            assert seen.headers["User-Agent"].startswith("codegouv-inventory/")


def test_check_asks_at_most_4_at_once_per_host(tmp_path):
    lock = threading.Lock()
    state = {"now": 0, "most": 0}

    def route(seen):
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.2)
        with lock:
            state["now"] -= 1
        login = seen.route.rsplit("/", 1)[-1]
        return json_answer({"login": login, "type": "User", "public_repos": 1})

    with HostileServer(route) as forge:
        logins = [f"compte-{n}" for n in range(12)]
        config = hostile_config(tmp_path / "organisations.yml", "github", forge.url, logins)
        result = codegouv("orgs", "check", "--json", "--config", str(config))
    assert result.exit_code == 0, result.output
    assert [i["login"] for i in json.loads(result.stdout)] == logins
    assert len(forge.requests) == 12
    assert 2 <= state["most"] <= 4


def test_local_forge_redirects_renamed_github_accounts_like_github(renaming_forge):
    forge, org, user, _host, _group = renaming_forge
    base = forge.api_url("github.com")
    answer = requests.get(f"{base}/orgs/ancienne-orga/repos?per_page=2", allow_redirects=False)
    assert answer.status_code == 301
    location = f"{base}/organizations/{org.database_id}/repos?per_page=2"
    assert answer.headers["Location"] == location
    assert answer.json()["message"] == "Moved Permanently" and answer.json()["url"] == location
    followed = requests.get(location)
    assert followed.status_code == 200 and len(followed.json()) == 2
    assert followed.json()[0]["owner"]["login"] == org.login
    # A user is not an organisation; an account's current login is never redirected.
    assert requests.get(f"{base}/orgs/ancien-compte", allow_redirects=False).status_code == 404
    moved = requests.get(f"{base}/users/ancien-compte", allow_redirects=False)
    assert moved.headers["Location"] == f"{base}/user/{user.database_id}"
    assert requests.get(f"{base}/users/{org.login}", allow_redirects=False).status_code == 200


def test_local_forge_answers_a_moved_gitlab_group_at_its_new_path(renaming_forge):
    forge, _org, _user, host, group = renaming_forge
    api = forge.api_url(host)
    answer = requests.get(f"{api}/groups/ancien-groupe", params={"with_projects": "false"})
    assert answer.status_code == 200 and answer.json()["full_path"] == group.login
    sub = forge.dataset.descendants(host, group.login)[0]
    old_sub = "ancien-groupe/" + sub.login.split("/", 1)[1]
    answer = requests.get(f"{api}/groups/{quote(old_sub, safe='')}")
    assert answer.status_code == 200 and answer.json()["full_path"] == sub.login


def test_check_gives_up_on_a_trickling_or_huge_answer(tmp_path):
    def route(seen):
        if seen.route == "/users/lent":
            return Answer(200, chunks=endless(b" "), pause=0.2)
        return Answer(200, chunks=endless(b" " * 65536))

    with HostileServer(route) as forge:
        config = hostile_config(tmp_path / "o.yml", "github", forge.url, ["lent", "enorme"])
        targets = check_targets(load_config(config))
        started = time.monotonic()
        slow, huge = check_accounts(targets, {}, timeout=2)
        assert time.monotonic() - started < 10
    assert (slow.status, huge.status) == ("error", "error")
    assert "2 s" in slow.message
    assert "kio" in huge.message


def test_add_refuses_owners_written_in_flow_style(tmp_path):
    path = tmp_path / "organisations.yml"
    path.write_text("github.com:\n  forge: github\n  owners: {etalab: , numerique-gouv: }\n")
    result = codegouv("orgs", "add", "github.com", "autre", "--config", str(path))
    assert result.exit_code == 2
    assert f"{path}:3" in result.stderr and "à la main" in result.stderr
    assert path.read_text().endswith("{etalab: , numerique-gouv: }\n")


def test_check_sends_each_token_to_its_own_forge_only(tmp_path):
    def route(seen):
        if seen.route == "/api/v4/groups/equipe":
            return json_answer({"id": 1, "full_path": "equipe"})
        return json_answer([], **{"x-total": "3"})  # header names are case-insensitive

    with HostileServer(route) as first, HostileServer(route) as second:
        config = tmp_path / "organisations.yml"
        config.write_text(
            f"gitlab.a.example.org:\n  forge: gitlab\n  api_url: {first.url}/api/v4\n"
            "  owners:\n    equipe:\n"
            f"gitlab.b.example.org:\n  forge: gitlab\n  api_url: {second.url}/api/v4\n"
            "  owners:\n    equipe:\n"
        )
        env = {"GITLAB_TOKEN_GITLAB_A_EXAMPLE_ORG": TOKEN}
        result = CliRunner(env=env).invoke(
            main, ["orgs", "check", "--json", "--config", str(config)]
        )
        assert result.exit_code == 0, result.output
        assert [i["repositories"] for i in json.loads(result.stdout)] == [3, 3]
        assert first.saw_token(TOKEN)
        assert second.requests and not second.saw_token(TOKEN)
        assert all(s.headers.get("PRIVATE-TOKEN") == TOKEN for s in first.requests)


@pytest.mark.parametrize("command", [["validate"], ["add", "github.com", "x"], ["check"]])
def test_a_file_nested_too_deeply_is_a_configuration_error_not_a_traceback(tmp_path, command):
    path = tmp_path / "organisations.yml"
    path.write_text("github.com: " + "[" * 600 + "]" * 600 + "\n")
    before = path.read_text()
    result = codegouv("orgs", *command, "--config", str(path))
    assert result.exit_code == 2
    assert f"{path}: nested too deeply" in result.stderr
    assert path.read_text() == before


def test_add_through_a_symbolic_link_replaces_the_target_and_keeps_the_link(accounts, tmp_path):
    link = tmp_path / "lien.yml"
    link.symlink_to(accounts)
    result = codegouv("orgs", "add", "github.com", "par-le-lien", "--config", str(link))
    assert result.exit_code == 0, result.stderr
    assert link.is_symlink()
    assert "    par-le-lien:\n" in accounts.read_text()


def test_check_reports_forges_it_cannot_ask_yet_without_failing(tmp_path):
    with HostileServer(lambda seen: json_answer({})) as forge:
        config = hostile_config(tmp_path / "o.yml", "gogs", f"{forge.url}/api/v1", ["equipe"])
        result = codegouv("orgs", "check", "--json", "--config", str(config))
    assert result.exit_code == 0, result.output
    (item,) = json.loads(result.stdout)
    assert item["status"] == "unsupported" and "gogs" in item["message"]
    assert forge.requests == []
