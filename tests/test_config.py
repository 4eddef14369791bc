"""crawler/config.py: the real accounts list loads; every mistake is reported with its line."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest
import yaml

from crawler.config import (
    ConfigError,
    ConfigIssue,
    default_api_url,
    is_ignored,
    load_config,
    load_ministries,
    select,
    token_for,
    token_variables,
    unsupported_forges,
)
from crawler.models import FORGE_KINDS, SUPPORTED_KINDS, ForgeConfig, OwnerConfig

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT / "config" / "organisations.yml"
REAL_MINISTRIES = ROOT / "config" / "ministries.yml"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "config"
UUID_A = "11111111-1111-4111-8111-111111111111"
UUID_B = "22222222-2222-4222-8222-222222222222"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "organisations.yml"
    path.write_text(text, encoding="utf-8")
    return path


def issues_of(path: Path, ministries_path: Path | None = None) -> list[ConfigIssue]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, ministries_path)
    return caught.value.issues


def lines_of(path: Path) -> list[int]:
    return [issue.line for issue in issues_of(path)]


def one_issue(tmp_path: Path, text: str) -> ConfigIssue:
    issues = issues_of(write(tmp_path, text))
    assert len(issues) == 1, issues
    return issues[0]


# -- the real file ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_config():
    return load_config(REAL)


@pytest.fixture(scope="module")
def real_data():
    """The same file read plainly, to derive the expected counts from its structure."""
    return yaml.safe_load(REAL.read_text(encoding="utf-8"))


def test_real_file_loads(real_config, real_data):
    assert [f.host for f in real_config.forges] == list(real_data)  # the file's order
    github = real_config.forge("github.com")
    assert github is not None and github.kind == "github"
    assert len(github.owners) == len(real_data["github.com"]["owners"])
    assert [o.login for o in github.owners] == list(real_data["github.com"]["owners"])
    assert sum(len(f.owners) for f in real_config.forges) == sum(
        len(entry.get("owners") or {}) for entry in real_data.values()
    )
    whole = [host for host, entry in real_data.items() if "owners" not in entry]
    assert [f.host for f in real_config.forges if f.whole_instance] == whole
    ignored = [host for host, entry in real_data.items() if "ignored_since" in entry]
    assert [f.host for f in real_config.forges if is_ignored(f, dt.date(2025, 9, 24))] == ignored
    expected_unsupported = [h for h, e in real_data.items() if e["forge"] not in SUPPORTED_KINDS]
    assert [f.host for f in unsupported_forges(real_config)] == expected_unsupported


def test_real_file_known_facts(real_config):
    assert len(real_config.forges) == 93  # config/SOURCES.md
    assert sum(len(f.owners) for f in real_config.forges) == 300
    gogs = real_config.forge("gogs.univ-littoral.fr")
    assert gogs is not None and gogs.kind == "gogs" and gogs.api_url.endswith("/api/v1")
    assert real_config.forge("gitlab.com").api_url == "https://gitlab.com/api/v4"
    assert real_config.forge("github.com").api_url == "https://api.github.com"
    # owners listed as bare "login:" inherit their host's pso_id, and so its ministry
    education = real_config.forge("forge.apps.education.fr")
    assert education.owners[0].login == "reseau-certa"
    assert education.owners[0].pso_id == education.pso_id
    assert education.owners[0].ministry == "Ministère de l'Éducation nationale et de la Jeunesse"
    # ministries derived from pso_id through config/ministries.yml
    bercy = next(o for o in real_config.forge("github.com").owners if o.login == "139bercy")
    assert bercy.ministry.startswith("Ministère de l'Économie")
    assert real_config.forge("gitlab.u-psud.fr").ignored_since == dt.date(2024, 8, 9)


def test_real_file_repeated_setting_keeps_the_last_with_a_warning(caplog):
    # gitlab.mim-libre.fr has pso_id twice upstream; PyYAML (and so code.gouv.fr) keeps the last
    with caplog.at_level(logging.WARNING, logger="crawler.config"):
        config = load_config(REAL)
    assert config.forge("gitlab.mim-libre.fr").pso_id == "3ed2f725-e077-4973-a531-498e13fc7861"
    assert f"{REAL}:780: gitlab.mim-libre.fr: 'pso_id' is repeated" in caplog.text


def test_real_ministries_table():
    ministries = load_ministries(REAL_MINISTRIES)
    data = yaml.safe_load(REAL_MINISTRIES.read_text(encoding="utf-8"))
    assert len(ministries) == len(data) == 19
    assert ministries["7bc12104-b232-46a6-a6d7-85bcf2dfccf1"] == "Ministère de la Justice"


def test_the_copies_name_their_origin():
    for path in (REAL, REAL_MINISTRIES):
        header = path.read_text(encoding="utf-8")[:600]
        assert "986231be" in header and "Licence Ouverte 2.0" in header


# -- every mistake at once, with its line ----------------------------------------------------


def test_many_mistakes_all_reported_with_their_lines():
    path = FIXTURES / "many_mistakes.yml"
    issues = issues_of(path)
    assert [issue.line for issue in issues] == [3, 4, 8, 11, 12, 14, 15, 16, 17, 19, 21, 25]
    messages = {issue.line: issue.message for issue in issues}
    assert (
        "unknown forge kind 'gitlub' (expected one of github, gitlab, gitea, gogs, sourcehut)"
        in (messages[3])
    )
    assert "unknown key 'owner' (did you mean 'owners'?)" in messages[4]
    assert "accepted keys" in messages[4] and "pso_id" in messages[4]
    assert "unknown key 'pso-id' (did you mean 'pso_id'?)" in messages[8]
    assert "'pso_id' must be a UUID" in messages[11]
    assert "owner 'Etalab' is listed twice (first at line 10)" in messages[12]
    assert "'floss_policy' must use https" in messages[14]
    assert "'ospo_url' must be an absolute http(s) URL" in messages[15]
    assert "bad date '2024-02-30'" in messages[16]
    assert "not a host name" in messages[17]
    assert "host 'github.com' is listed twice (first at line 2)" in messages[19]
    assert "missing 'forge'" in messages[21]
    assert "'api_url' must use https" in messages[25]


def test_issue_renders_as_path_line_message():
    issue = ConfigIssue("organisations.yml", 3, "unknown forge kind 'gitlub'")
    assert str(issue) == "organisations.yml:3: unknown forge kind 'gitlub'"
    assert str(ConfigIssue("organisations.yml", 0, "file not found")) == (
        "organisations.yml: file not found"
    )
    error = ConfigError([issue, issue])
    assert isinstance(error, ValueError)
    assert str(error) == f"{issue}\n{issue}"


def test_the_cli_example(tmp_path):
    path = write(tmp_path, "github.com:\n  forge: gitlub\n  owners:\n    a:\n    a:\n")
    issues = issues_of(path)
    assert [str(issue).split(": ")[0] for issue in issues] == [f"{path}:2", f"{path}:5"]


def test_missing_file_names_it(tmp_path):
    path = tmp_path / "nowhere.yml"
    issues = issues_of(path)
    assert len(issues) == 1 and str(issues[0]) == f"{path}: file not found"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("github.com:\n  forge: github\n  owners:\n    etalab:\n   dinum:\n", 5),
        ("github.com:\n\tforge: github\n", 2),
        ("a: 1\n---\nb: 2\n", 2),
        ("github.com:\n  forge: 'github\n", 3),
    ],
)
def test_yaml_syntax_error_has_its_line(tmp_path, text, line):
    issue = one_issue(tmp_path, text)
    assert issue.line == line and issue.message.startswith("YAML syntax error")


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("", 0, "the file is empty"),
        ("# nothing\n", 0, "the file is empty"),
        ("- github.com\n", 1, "expected a mapping of forge hosts, got a list"),
        ("github.com: github\n", 1, "expected the forge's settings"),
        ("github.com:\n", 1, "expected the forge's settings (at least 'forge: KIND'), got nothing"),
        ("\ngithub.com:\n  owners:\n    a:\n", 2, "github.com: missing 'forge'"),
        ("github.com:\n  forge:\n", 2, "'forge' must be one of github, gitlab, gitea, gogs"),
        ("github.com:\n  forge: [github]\n", 2, "'forge' must be one of github, gitlab, gitea,"),
        ("github.com:\n  forge: ''\n", 2, "got nothing"),
    ],
)
def test_structure(tmp_path, text, line, message):
    issue = one_issue(tmp_path, text)
    assert issue.line == line and message in issue.message


def test_forge_kind_is_case_insensitive(tmp_path):
    config = load_config(write(tmp_path, "git.example.org:\n  forge: Gitea\n"))
    assert config.forges[0].kind == "gitea" and "gitea" in FORGE_KINDS


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("https://gitlab.example.org", "without scheme or path"),
        ("gitlab.example.org/group", "without scheme or path"),
        ("gitlab example.org", "not a valid host name"),
        ("-gitlab.example.org", "not a valid host name"),
        ("gitlab..example.org", "not a valid host name"),
        ("gitlab_x.example.org", "not a valid host name"),
        ("gitlab.example.org:99999", "not a valid host name"),
        ("'[github.com]'", "not a valid host name"),
    ],
)
def test_bad_host(tmp_path, host, message):
    issue = one_issue(tmp_path, f"# a host\n{host}:\n  forge: gitlab\n")
    assert issue.line == 2 and message in issue.message


def test_hosts_are_lower_cased_and_may_carry_a_port(tmp_path):
    config = load_config(write(tmp_path, "GitLab.Example.ORG:8443:\n  forge: gitlab\n"))
    assert config.forges[0].host == "gitlab.example.org:8443"
    assert config.forges[0].api_url == "https://gitlab.example.org:8443/api/v4"
    assert config.forge("GITLAB.example.org:8443") is config.forges[0]


def test_duplicate_hosts_and_owners_case_insensitive(tmp_path):
    path = write(
        tmp_path,
        "github.com:\n"  # 1
        "  forge: github\n"
        "  owners:\n"
        "    Etalab:\n"  # 4
        "    etalab:\n"  # 5
        "    ETALAB:\n"  # 6
        "gitlab.com:\n"  # 7
        "  forge: gitlab\n"
        "  owners:\n"
        "    etalab:\n"  # 10: another host, not a duplicate
        "GITHUB.COM:\n"  # 11
        "  forge: github\n",
    )
    issues = issues_of(path)
    assert [issue.line for issue in issues] == [5, 6, 11]
    assert "owner 'etalab' is listed twice (first at line 4)" in issues[0].message
    assert "host 'github.com' is listed twice (first at line 1)" in issues[2].message


def test_repeated_owners_key_is_an_error(tmp_path):
    issue = one_issue(
        tmp_path,
        "github.com:\n  forge: github\n  owners:\n    a:\n  owners:\n    b:\n",
    )
    assert issue.line == 5 and "'owners' is repeated (first at line 3)" in issue.message


def test_repeated_setting_warns_and_keeps_the_last(tmp_path, caplog):
    path = write(
        tmp_path,
        f"git.example.org:\n  forge: gitea\n  pso_id: {UUID_A}\n  pso_id: {UUID_B}\n",
    )
    with caplog.at_level(logging.WARNING, logger="crawler.config"):
        config = load_config(path)
    assert config.forges[0].pso_id == UUID_B
    assert f"{path}:4: git.example.org: 'pso_id' is repeated (first at line 3)" in caplog.text


@pytest.mark.parametrize(
    ("owners", "line", "message"),
    [
        ("  owners:\n", 3, "'owners' must be a mapping of account logins"),
        ("  owners:\n", 3, "remove 'owners' to crawl the whole forge"),
        ("  owners:\n    - etalab\n", 4, "got a list"),
        ("  owners: etalab\n", 3, "got 'etalab'"),
        ("  owners: {}\n", 3, "got an empty mapping"),
    ],
)
def test_owners_must_be_a_mapping(tmp_path, owners, line, message):
    issue = one_issue(tmp_path, "github.com:\n  forge: github\n" + owners)
    assert issue.line == line and message in issue.message


def test_owner_entries(tmp_path):
    path = write(
        tmp_path,
        "github.com:\n"
        "  forge: github\n"
        "  owners:\n"
        "    bare:\n"  # 4: fine
        "    empty: {}\n"  # 5: fine
        "    null-value: null\n"  # 6: fine
        "    scalar: yes\n"  # 7
        "    org/team:\n"  # 8: no '/' on GitHub
        "    https://github.com/etalab:\n"  # 9
        "    with-api:\n"  # 10
        "      api_url: https://api.github.com\n"  # 11
        "    typo:\n"
        "      pso:\n"  # 13
        "gitlab.com:\n"
        "  forge: gitlab\n"
        "  owners:\n"
        "    group/sub-group/project.s:\n"  # 17: fine on GitLab
        "    _under.score:\n",  # 18: fine
    )
    issues = issues_of(path)
    assert [issue.line for issue in issues] == [7, 8, 9, 11, 13]
    assert "expected the owner's settings" in issues[0].message
    assert issues[0].message.endswith("or nothing, got 'yes'")
    assert "not a GitHub login" in issues[1].message
    assert "is not an account login or group path" in issues[2].message
    assert "'api_url' is set on the forge host, not on an owner" in issues[3].message
    assert "unknown key 'pso' (did you mean 'pso_id'?)" in issues[4].message
    assert "accepted keys on an owner: pso_id, floss_policy" in issues[4].message


def test_owners_accept_numbers_and_yaml_words_as_logins(tmp_path):
    # logins are read as written: PyYAML would make `139bercy` fine but `1234` an int, `on` True
    path = write(tmp_path, "github.com:\n  forge: github\n  owners:\n    1234:\n    on:\n")
    assert [o.login for o in load_config(path).forges[0].owners] == ["1234", "on"]


def test_owner_record_fields(tmp_path):
    config = load_config(FIXTURES / "valid.yml")
    github = config.forge("github.com")
    assert github.line == 2 and github.host == "github.com"
    etalab = github.owners[0]
    assert etalab == OwnerConfig(
        forge="github.com",
        login="etalab",
        line=5,
        pso_id=UUID_A,
        ministry="Ministère de l'Exemple",
        name="Etalab",
    )
    assert github.owners[1].login == "DINUM" and github.owners[1].id == "github.com/dinum"
    assert [o.line for o in github.owners] == [5, 8, 11, 13]


# -- values ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("not-a-uuid", "'pso_id' must be a UUID"),
        ("12", "'pso_id' must be a UUID"),
        ("", "'pso_id' must be a UUID, got nothing"),
        ("[a]", "'pso_id' must be a UUID, got a list"),
    ],
)
def test_bad_pso_id(tmp_path, value, message):
    issue = one_issue(tmp_path, f"git.example.org:\n  forge: gitea\n  pso_id: {value}\n")
    assert issue.line == 3 and message in issue.message


def test_pso_id_is_lower_cased(tmp_path):
    path = write(tmp_path, f"git.example.org:\n  forge: gitea\n  pso_id: {UUID_A.upper()}\n")
    assert load_config(path).forges[0].pso_id == UUID_A


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-08-09", dt.date(2024, 8, 9)),
        ("'2024-08-09'", dt.date(2024, 8, 9)),
        ('"2024-08-09"', dt.date(2024, 8, 9)),
        ("2024-13-01", None),
        ("2024-02-30", None),
        ("'2024-8-9'", None),
        ("2024-08-09 10:00:00", None),
        ("yesterday", None),
        ("20240809", None),
    ],
)
def test_ignored_since(tmp_path, value, expected):
    path = write(tmp_path, f"git.example.org:\n  forge: gitea\n  ignored_since: {value}\n")
    if expected is None:
        issues = issues_of(path)
        assert len(issues) == 1 and issues[0].line == 3
        assert "'ignored_since': bad date" in issues[0].message
    else:
        assert load_config(path).forges[0].ignored_since == expected


def test_name_and_ministry_must_be_strings(tmp_path):
    path = write(
        tmp_path,
        "git.example.org:\n  forge: gitea\n  name: [a, b]\n  ministry:\n    x: y\n",
    )
    issues = issues_of(path)
    assert [issue.line for issue in issues] == [3, 5]
    assert "'name' must be a string, got a list" in issues[0].message
    assert "'ministry' must be a string, got a mapping" in issues[1].message


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/github.com",
        "http://127.1.2.3/api/v4",
        "http://localhost:9000",
        "http://[::1]:8080/api/v3",
        "https://github.example.gouv.fr/api/v3",
    ],
)
def test_api_url_accepted(tmp_path, url):
    path = write(tmp_path, f"github.com:\n  forge: github\n  api_url: {url}\n  owners:\n    a:\n")
    assert load_config(path).forges[0].api_url == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://api.github.com", "must use https (plain http only on a loopback address)"),
        ("http://10.0.0.1:8000", "must use https"),
        ("http://127.0.0.1.example.org", "must use https"),
        ("ftp://example.org", "must be an absolute http(s) URL"),
        ("api.github.com", "must be an absolute http(s) URL"),
        ("/api/v4", "must be an absolute http(s) URL"),
        ("https://", "must be an absolute http(s) URL"),
        ("https://example.org:99999/", "must be an absolute http(s) URL"),
        ("https://user:secret@example.org/api", "must not carry credentials"),
        ("http://token@example.org/api", "must not carry credentials"),
        ("", "must be an absolute URL, got nothing"),
    ],
)
def test_api_url_refused(tmp_path, url, message):
    text = f"github.com:\n  forge: github\n  owners:\n    a:\n  api_url: {url}\n"
    issue = one_issue(tmp_path, text)
    assert issue.line == 5 and message in issue.message
    assert "secret" not in issue.message


def test_documentation_links_follow_the_same_rule(tmp_path):
    # the real file has no plain-http floss_policy/ospo_url: https is required there too
    assert "http://" not in REAL.read_text(encoding="utf-8")
    path = write(
        tmp_path,
        "git.example.org:\n"
        "  forge: gitea\n"
        "  floss_policy: http://example.org/policy\n"
        "  ospo_url: mailto:ospo@example.org\n",
    )
    issues = issues_of(path)
    assert [issue.line for issue in issues] == [3, 4]
    assert "'floss_policy' must use https" in issues[0].message
    assert "'ospo_url' must be an absolute http(s) URL" in issues[1].message


@pytest.mark.parametrize(
    ("host", "kind", "expected"),
    [
        ("github.com", "github", "https://api.github.com"),
        ("github.example.gouv.fr", "github", "https://github.example.gouv.fr/api/v3"),
        ("gitlab.com", "gitlab", "https://gitlab.com/api/v4"),
        ("gitlab.adullact.net", "gitlab", "https://gitlab.adullact.net/api/v4"),
        ("codeberg.org", "gitea", "https://codeberg.org/api/v1"),
        ("gogs.univ-littoral.fr", "gogs", "https://gogs.univ-littoral.fr/api/v1"),
        ("git.sr.ht", "sourcehut", "https://git.sr.ht/query"),
    ],
)
def test_default_api_url(tmp_path, host, kind, expected):
    assert default_api_url(host, kind) == expected
    config = load_config(write(tmp_path, f"{host}:\n  forge: {kind}\n"))
    assert config.forges[0].api_url == expected


def test_api_url_trailing_slash_is_stripped():
    assert load_config(FIXTURES / "valid.yml").forge("gitlab.example.gouv.fr").api_url == (
        "https://gitlab.example.gouv.fr/api/v4"
    )


# -- inheritance and ministries --------------------------------------------------------------


def test_owners_inherit_from_their_host():
    forge = load_config(FIXTURES / "valid.yml").forge("gitlab.example.gouv.fr")
    inheriting, own = forge.owners
    assert inheriting.login == "group/subgroup"
    assert inheriting.pso_id == forge.pso_id == UUID_B
    assert inheriting.floss_policy == forge.floss_policy == "https://example.gouv.fr/policy"
    assert inheriting.ospo_url == forge.ospo_url == "https://example.gouv.fr/ospo"
    assert inheriting.ignored_since == forge.ignored_since == dt.date(2030, 1, 1)
    # an owner's own settings win; what it does not set still comes from the host
    assert own.pso_id == UUID_A
    assert own.floss_policy == "https://other.gouv.fr/policy"
    assert own.ospo_url == "https://example.gouv.fr/ospo"
    assert own.ignored_since == dt.date(2024, 8, 9)
    assert own.name is None  # name is not inherited


def test_ministry_explicit_derived_or_none():
    config = load_config(FIXTURES / "valid.yml")  # ministries.yml beside it is the default
    etalab, dinum, unknown, bare = config.forge("github.com").owners
    assert etalab.ministry == "Ministère de l'Exemple"  # derived from pso_id
    assert dinum.ministry == "Premier ministre"  # explicit wins over the pso_id's
    assert unknown.ministry is None  # pso_id not in the table
    assert bare.ministry is None  # no pso_id
    gitlab = config.forge("gitlab.example.gouv.fr")
    assert gitlab.ministry == "Ministère des Essais"  # a forge's own, derived
    assert gitlab.owners[0].ministry == "Ministère des Essais"  # from the inherited pso_id
    assert gitlab.owners[1].ministry == "Ministère de l'Exemple"  # from its own pso_id
    whole = config.forge("forge.example.fr")
    assert whole.whole_instance and whole.ministry == "Ministère des Essais"
    assert whole.name == "Forge de l'exemple"


def test_ministries_path_explicit_and_absent(tmp_path):
    text = (FIXTURES / "valid.yml").read_text(encoding="utf-8")
    path = write(tmp_path, text)  # no ministries.yml beside it
    assert load_config(path).forge("github.com").owners[0].ministry is None
    config = load_config(path, ministries_path=FIXTURES / "ministries.yml")
    assert config.forge("github.com").owners[0].ministry == "Ministère de l'Exemple"
    issues = issues_of(path, ministries_path=tmp_path / "none.yml")
    assert str(issues[0]) == f"{tmp_path / 'none.yml'}: file not found"


def test_bad_ministries_table(tmp_path):
    table = tmp_path / "ministries.yml"
    table.write_text(
        f"{UUID_A}: Premier ministre\nnot-an-id: X\n{UUID_A.upper()}: Again\n{UUID_B}:\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_ministries(table)
    assert [issue.line for issue in caught.value.issues] == [2, 3, 4]
    # load_config reads it by default, beside the accounts file
    issues = issues_of(write(tmp_path, "git.example.org:\n  forge: gitea\n"))
    assert [issue.path for issue in issues] == [str(table)] * 3


# -- helpers for callers ---------------------------------------------------------------------


def test_unsupported_forges_and_is_ignored():
    config = load_config(FIXTURES / "valid.yml")
    assert [f.host for f in unsupported_forges(config)] == ["gogs.example.fr"]
    today = dt.date(2025, 1, 1)
    gitlab, whole = config.forge("gitlab.example.gouv.fr"), config.forge("forge.example.fr")
    assert not is_ignored(gitlab, today) and is_ignored(gitlab, dt.date(2030, 1, 1))
    assert is_ignored(whole, today) and is_ignored(whole, dt.date(2024, 8, 9))
    assert not is_ignored(whole, dt.date(2024, 8, 8))
    assert is_ignored(gitlab.owners[1], today) and not is_ignored(gitlab.owners[0], today)
    assert not is_ignored(config.forge("github.com"))


# -- select ----------------------------------------------------------------------------------


@pytest.fixture
def selectable(tmp_path):
    return load_config(
        write(
            tmp_path,
            "github.com:\n"
            "  forge: github\n"
            "  owners:\n"
            "    etalab:\n"
            "    betagouv:\n"
            "framagit.org:\n"
            "  forge: gitlab\n"
            "  owners:\n"
            "    Etalab:\n"
            "    other:\n"
            "forge.example.fr:\n"
            "  forge: gitlab\n",
        )
    )


def hosts_and_logins(config):
    return [(f.host, [o.login for o in f.owners]) for f in config.forges]


def test_select_nothing_keeps_everything(selectable):
    assert select(selectable) is selectable


def test_select_forges(selectable):
    assert hosts_and_logins(select(selectable, forges=["GitHub.com", "forge.example.fr"])) == [
        ("github.com", ["etalab", "betagouv"]),
        ("forge.example.fr", []),
    ]


def test_select_owners_everywhere_they_are_listed(selectable):
    selected = select(selectable, owners=["ETALAB"])
    assert hosts_and_logins(selected) == [("github.com", ["etalab"]), ("framagit.org", ["Etalab"])]
    assert selected.path == selectable.path


def test_select_owner_by_host_and_login(selectable):
    selected = select(selectable, owners=["framagit.org/etalab"])
    assert hosts_and_logins(selected) == [("framagit.org", ["Etalab"])]


def test_select_owners_leave_whole_instances_out_unless_named(selectable):
    assert "forge.example.fr" not in [f.host for f in select(selectable, owners=["other"]).forges]
    selected = select(selectable, forges=["forge.example.fr", "github.com"], owners=["etalab"])
    assert hosts_and_logins(selected) == [("github.com", ["etalab"]), ("forge.example.fr", [])]


def test_select_unknown_names_are_all_reported(selectable):
    with pytest.raises(ConfigError) as caught:
        select(selectable, forges=["gitlab.com", "github.com"], owners=["nobody", "betagouv"])
    messages = [issue.message for issue in caught.value.issues]
    assert messages == [
        "forge 'gitlab.com' is not in the configuration",
        "owner 'nobody' is not in the configuration under github.com, gitlab.com",
    ]
    assert str(caught.value.issues[0]) == f"{selectable.path}: {messages[0]}"


def test_select_owner_not_under_the_named_forge(selectable):
    with pytest.raises(ConfigError, match="owner 'other' is not in the configuration under"):
        select(selectable, forges=["github.com"], owners=["other"])


# -- tokens ----------------------------------------------------------------------------------


def forge(host: str, kind: str, api_url: str | None = None) -> ForgeConfig:
    return ForgeConfig(host=host, kind=kind, api_url=api_url or default_api_url(host, kind))


ENVIRON = {
    "GITHUB_TOKEN": "gh-public",
    "GITHUB_TOKEN_GITHUB_EXAMPLE_GOUV_FR": "gh-enterprise",
    "GITLAB_TOKEN": "gl-com",
    "GITLAB_TOKEN_GITLAB_ADULLACT_NET": "gl-adullact",
}


def test_token_github():
    assert token_for(forge("github.com", "github"), ENVIRON) == "gh-public"
    assert token_for(forge("github.com", "github"), {}) is None
    assert token_for(forge("github.com", "github"), {"GITHUB_TOKEN": ""}) is None


def test_token_github_enterprise_uses_only_its_own_variable():
    enterprise = forge("github.example.gouv.fr", "github")
    assert token_variables(enterprise) == ("GITHUB_TOKEN_GITHUB_EXAMPLE_GOUV_FR",)
    assert token_for(enterprise, ENVIRON) == "gh-enterprise"
    assert token_for(enterprise, {"GITHUB_TOKEN": "gh-public"}) is None


def test_token_gitlab_com():
    gitlab = forge("gitlab.com", "gitlab")
    assert token_variables(gitlab) == ("GITLAB_TOKEN_GITLAB_COM", "GITLAB_TOKEN")
    assert token_for(gitlab, ENVIRON) == "gl-com"
    both = {"GITLAB_TOKEN_GITLAB_COM": "per-host", "GITLAB_TOKEN": "generic"}
    assert token_for(gitlab, both) == "per-host"
    assert token_for(gitlab, {"GITLAB_TOKEN_GITLAB_COM": "", "GITLAB_TOKEN": "generic"}) == (
        "generic"
    )
    assert token_for(gitlab, {}) is None


def test_token_self_hosted_gitlab_never_gets_gitlab_com_token():
    adullact = forge("gitlab.adullact.net", "gitlab")
    assert token_variables(adullact) == ("GITLAB_TOKEN_GITLAB_ADULLACT_NET",)
    assert token_for(adullact, ENVIRON) == "gl-adullact"
    leaky = {"GITLAB_TOKEN": "gl-com", "GITLAB_TOKEN_GITLAB_COM": "gl-com"}
    assert token_for(adullact, leaky) is None
    assert token_for(adullact, {"GITLAB_TOKEN_GITLAB_ADULLACT_NET": ""}) is None
    odd = forge("gricad-gitlab.univ-grenoble-alpes.fr:8443", "gitlab")
    assert token_variables(odd) == ("GITLAB_TOKEN_GRICAD_GITLAB_UNIV_GRENOBLE_ALPES_FR_8443",)


def test_token_other_kinds_use_their_per_host_variable():
    codeberg = forge("codeberg.org", "gitea")
    assert token_variables(codeberg) == ("GITEA_TOKEN_CODEBERG_ORG",)
    assert token_for(codeberg, {"GITEA_TOKEN_CODEBERG_ORG": "t"}) == "t"


def test_token_not_sent_to_an_api_url_on_another_host(caplog):
    elsewhere = forge("github.com", "github", "https://collector.example.org/api")
    with caplog.at_level(logging.WARNING, logger="crawler.config"):
        assert token_for(elsewhere, ENVIRON) is None
    assert "GITHUB_TOKEN" in caplog.text and "gh-public" not in caplog.text
    adullact = forge("gitlab.adullact.net", "gitlab", "https://gitlab.example.org/api/v4")
    assert token_for(adullact, ENVIRON) is None


def test_token_sent_to_the_local_forge_on_loopback():
    local = forge("github.com", "github", "http://127.0.0.1:8000/github.com")
    assert token_for(local, {"GITHUB_TOKEN": "test-token"}) == "test-token"
    local_gitlab = forge("gitlab.com", "gitlab", "http://localhost:8000/gitlab.com/api/v4")
    assert token_for(local_gitlab, {"GITLAB_TOKEN": "t"}) == "t"


def test_tokens_never_enter_the_records(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "secret-from-env")
    config = load_config(FIXTURES / "valid.yml")
    assert "secret-from-env" not in repr(config)
    assert token_for(config.forge("github.com")) == "secret-from-env"  # os.environ by default
