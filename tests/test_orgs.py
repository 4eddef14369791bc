"""`codegouv orgs validate / add / check` as an AMD runs them: on a copy of the real accounts
file, and against the local forge over real HTTP."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli import main

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
    from crawler.config import load_config

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
