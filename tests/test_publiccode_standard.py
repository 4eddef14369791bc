"""publiccode.yml as the standard is today (0.7.0): its official examples, ``"0"`` and the
versions 0.2 to 0.7, each change of 0.5 and 0.7, and one invalid file per rule class, each
rejected with the key path of its one defect; and ``codegouv publiccode`` giving these answers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli import main
from crawler.publiccode import Issue, validate

FIXTURES = Path(__file__).parent / "fixtures" / "publiccode"
OFFICIAL = FIXTURES / "official-0.7.0.yml"
OFFICIAL_MINIMAL = FIXTURES / "official-0.7.0-minimal.yml"
#: Valid, version "0", no warning: the base that each file of invalid/ breaks once.
BASE = FIXTURES / "valid-0.yml"
INVALID = sorted((FIXTURES / "invalid").glob("*.yml"))


def paths(issues: tuple[Issue, ...]) -> set[str]:
    return {issue.path for issue in issues}


def messages(issues: tuple[Issue, ...]) -> dict[str, str]:
    return {issue.path: issue.message for issue in issues}


def base(**changes: str) -> str:
    """The base file with each ``old=new`` text replacement (keys are labels, not text)."""
    text = BASE.read_text(encoding="utf-8")
    for old_new in changes.values():
        old, new = old_new.split("=>")
        assert old in text, old
        text = text.replace(old, new)
    return text


def add(block: str) -> str:
    """The base file with a top-level block appended."""
    return BASE.read_text(encoding="utf-8") + block


# --- the official examples -------------------------------------------------------------------


def test_official_example_is_valid_with_its_fields() -> None:
    result = validate(OFFICIAL.read_bytes())
    assert result.valid and result.errors == (), result.errors
    assert result.version == "0"
    # Its only warning: the IT section, deprecated by 0.7 in favour of supports/organisation.
    assert paths(result.warnings) == {"IT"}
    assert "deprecated since 0.7" in result.warnings[0].message
    assert result.name == "Medusa"
    assert result.maintenance_type == "contract"
    assert result.maintenance_contractors == ("Fornitore Privato SPA",)
    assert (result.organisation_uri, result.organisation_name) == (
        "urn:x-italian-pa:c_h501",
        "Roma Capitale",
    )
    assert result.categories == ("content-management", "office")


def test_official_minimal_example_is_valid_without_warning() -> None:
    result = validate(OFFICIAL_MINIMAL.read_bytes())
    assert result.valid, result.errors
    assert result.errors == () and result.warnings == ()
    assert result.categories == ()  # optional since 0.5


def test_base_of_the_invalid_files_is_valid_without_warning() -> None:
    result = validate(BASE.read_bytes())
    assert (result.errors, result.warnings) == ((), ())


# --- versions --------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["0", "0.7", "0.7.0"])
def test_latest_version_has_no_warning(version: str) -> None:
    result = validate(base(v=f'publiccodeYmlVersion: "0"=>publiccodeYmlVersion: "{version}"'))
    assert (result.errors, result.warnings) == ((), ())
    assert result.version == version


@pytest.mark.parametrize(
    "version", ["0.2", "0.2.0", "0.2.1", "0.2.2", "0.3", "0.3.0", "0.4", "0.4.0", "0.5", "0.6.0"]
)
def test_explicit_older_version_is_accepted_with_a_warning_advising_0(version: str) -> None:
    result = validate(base(v=f'publiccodeYmlVersion: "0"=>publiccodeYmlVersion: "{version}"'))
    assert result.valid, result.errors
    assert paths(result.warnings) == {"publiccodeYmlVersion"}
    assert '"0"' in messages(result.warnings)["publiccodeYmlVersion"]


@pytest.mark.parametrize("version", ["1", "1.0", "0.8", "0.1", "latest"])
def test_unknown_version_is_an_error(version: str) -> None:
    result = validate(base(v=f'publiccodeYmlVersion: "0"=>publiccodeYmlVersion: "{version}"'))
    assert paths(result.errors) == {"publiccodeYmlVersion"}


def test_unquoted_0_is_read_as_the_version_with_a_quoting_warning() -> None:
    result = validate(base(v='publiccodeYmlVersion: "0"=>publiccodeYmlVersion: 0'))
    assert result.valid and result.version == "0"
    assert "quoted" in messages(result.warnings)["publiccodeYmlVersion"]


# --- 0.5 -------------------------------------------------------------------------------------


def test_05_organisation_uri_may_be_a_urn_and_name_is_optional() -> None:
    text = base(
        uri='uri: "https://www.data.gouv.fr/organizations/dinum"=>uri: "urn:x-fr-siren:130025265"',
        name="  name: DINUM\n=>",
    )
    result = validate(text)
    assert (result.errors, result.warnings) == ((), ())
    assert (result.organisation_uri, result.organisation_name) == ("urn:x-fr-siren:130025265", None)
    assert result.as_dict()["organisationUri"] == "urn:x-fr-siren:130025265"


def test_05_funded_by_lists_organisations_with_a_name_and_an_optional_uri() -> None:
    result = validate(
        add(
            "fundedBy:\n"
            "  - name: France Relance\n"
            '    uri: "https://www.economie.gouv.fr/plan-de-relance"\n'
            "  - name: Région Bretagne\n"
        )
    )
    assert (result.errors, result.warnings) == ((), ())
    bad = validate(add('fundedBy:\n  - name: France Relance\n    uri: "pas une URI"\n'))
    assert paths(bad.errors) == {"fundedBy[0].uri"}
    assert paths(validate(add("fundedBy: France Relance\n")).errors) == {"fundedBy"}


def test_05_categories_are_optional() -> None:
    text = base(c="categories:\n  - workflow-management\n=>")
    result = validate(text)
    assert (result.errors, result.warnings) == ((), ())
    # still mandatory for a file that declares 0.3 (the standard of that version)
    older = validate(text.replace('publiccodeYmlVersion: "0"', 'publiccodeYmlVersion: "0.3"'))
    assert "categories" in paths(older.errors)


def test_05_category_other_is_in_the_list_and_unknown_ones_are_errors() -> None:
    result = validate(
        base(c="  - workflow-management\n=>  - other\n  - regulations-and-directives\n")
    )
    assert (result.errors, result.warnings) == ((), ())
    assert result.categories == ("other", "regulations-and-directives")
    bad = validate(base(c="  - workflow-management\n=>  - other\n  - signalement\n"))
    assert paths(bad.errors) == {"categories[1]"}
    assert "signalement" in messages(bad.errors)["categories[1]"]


def test_05_upper_case_countries_are_valid_lower_case_ones_deprecated() -> None:
    upper = validate(base(c="    - FR\n=>    - FR\n    - IT\n  unsupportedCountries:\n    - US\n"))
    assert (upper.errors, upper.warnings) == ((), ())
    lower = validate(base(c="    - FR\n=>    - fr\n"))
    assert lower.valid, lower.errors
    assert paths(lower.warnings) == {"intendedAudience.countries[0]"}
    assert "'FR'" in lower.warnings[0].message
    # a 0.4 file had to write them in lower case: no deprecation for it
    older = validate(base(c="    - FR\n=>    - fr\n", v='Version: "0"=>Version: "0.4"'))
    assert paths(older.warnings) == {"publiccodeYmlVersion"}
    # not a country at all: an error, whatever the case
    for code in ("fra", "XX", "zz"):
        result = validate(base(c=f"    - FR\n=>    - {code}\n"))
        assert paths(result.errors) == {"intendedAudience.countries[0]"}, code


def test_05_legal_repo_owner_is_deprecated_for_organisation_name() -> None:
    text = base(lic="license: AGPL-3.0-or-later=>license: AGPL-3.0-or-later\n  repoOwner: DINUM")
    result = validate(text)
    assert result.valid, result.errors
    assert messages(result.warnings) == {
        "legal.repoOwner": "deprecated since 0.5: use organisation.name"
    }
    older = validate(text.replace('Version: "0"', 'Version: "0.4"'))
    assert "legal.repoOwner" not in paths(older.warnings)


def test_05_it_conforme_and_riuso_codice_ipa_are_deprecated() -> None:
    result = validate(
        add(
            "IT:\n"
            '  countryExtensionVersion: "1.0"\n'
            "  conforme:\n"
            "    gdpr: true\n"
            "  riuso:\n"
            "    codiceIPA: c_h501\n"
        )
    )
    assert result.valid, result.errors
    assert {"IT", "IT.conforme", "IT.riuso.codiceIPA"} == paths(result.warnings)
    assert "supports" in messages(result.warnings)["IT.conforme"]
    assert "organisation.uri" in messages(result.warnings)["IT.riuso.codiceIPA"]


def test_05_contractors_only_with_a_contract_contacts_optional_then() -> None:
    contract = base(
        m="type: internal\n  contacts:=>type: contract\n  contractors:\n"
        '    - name: Prestataire SAS\n      until: "2027-06-30"\n'
        '      website: "https://prestataire.example.fr"\n  contacts:'
    )
    result = validate(contract)
    assert (result.errors, result.warnings) == ((), ())
    assert result.maintenance_contractors == ("Prestataire SAS",)
    without_contacts = validate(
        base(
            m="type: internal\n  contacts:\n    - name: Camille Martin\n"
            "      email: camille.martin@example.gouv.fr\n=>type: contract\n  contractors:\n"
            '    - name: Prestataire SAS\n      until: "2027-06-30"\n'
        )
    )
    assert without_contacts.valid, without_contacts.errors
    for kind in ("internal", "community", "none"):
        wrong = validate(contract.replace("type: contract", f"type: {kind}"))
        assert paths(wrong.errors) == {"maintenance.contractors"}, kind


# --- 0.7 -------------------------------------------------------------------------------------


def test_07_supports_takes_aliases_and_uris() -> None:
    result = validate(
        add(
            "supports:\n"
            "  - id: alias:gdpr\n"
            '  - id: "https://eur-lex.europa.eu/eli/reg/2016/679/oj"\n'
            "  - id: urn:x-fr:referentiel:rgaa:4.1\n"
        )
    )
    assert (result.errors, result.warnings) == ((), ())
    assert result.supports == (
        "alias:gdpr",
        "https://eur-lex.europa.eu/eli/reg/2016/679/oj",
        "urn:x-fr:referentiel:rgaa:4.1",
    )
    assert result.as_dict()["supports"] == list(result.supports)
    bad = validate(add('supports:\n  - id: "alias:"\n  - id: RGAA 4.1\n  - alias:gdpr\n'))
    assert paths(bad.errors) == {"supports[0].id", "supports[1].id", "supports[2]"}
    assert paths(validate(add("supports: alias:gdpr\n")).errors) == {"supports"}


@pytest.mark.parametrize("key", ["IT", "it"])
def test_07_country_sections_are_accepted_and_deprecated(key: str) -> None:
    result = validate(
        add(
            f'{key}:\n  countryExtensionVersion: "1.0"\n'
            "  piattaforme:\n    spid: true\n    io: false\n"
        )
    )
    assert result.valid, result.errors
    assert paths(result.warnings) == {key}
    message = messages(result.warnings)[key]
    assert "deprecated since 0.7" in message and "supports" in message
    assert ("lower-case" in message) == (key == "it")
    # in a 0.4 file the Italian section was the way to say it: no warning
    older = add(f'{key}:\n  countryExtensionVersion: "1.0"\n').replace(
        'Version: "0"', 'Version: "0.4"'
    )
    assert paths(validate(older).warnings) == {"publiccodeYmlVersion"}


def test_a_two_letter_key_that_is_no_country_stays_an_unknown_key() -> None:
    result = validate(add("zz:\n  a: 1\n"))
    assert result.valid
    assert messages(result.warnings) == {"zz": "unknown key"}


# --- the older deprecations, as the standard dates them -----------------------------------


def test_03_and_04_deprecations_are_warnings_from_their_version_on() -> None:
    text = add("monochromeLogo: img/logo-mono.svg\ninputTypes:\n  - text/plain\n").replace(
        "license: AGPL-3.0-or-later", "license: AGPL-3.0-or-later\n  authorsFile: AUTHORS"
    )
    result = validate(text)
    assert result.valid, result.errors
    assert paths(result.warnings) == {"monochromeLogo", "inputTypes", "legal.authorsFile"}
    assert "0.3" in messages(result.warnings)["monochromeLogo"]
    older = validate(text.replace('Version: "0"', 'Version: "0.2"'))
    assert paths(older.warnings) == {"publiccodeYmlVersion"}


def test_unknown_keys_in_sections_are_warnings_with_their_path() -> None:
    text = base(
        m="type: internal=>type: internal\n  sla: 99.9",
        c="      email: camille.martin@example.gouv.fr\n=>"
        "      email: camille.martin@example.gouv.fr\n      role: cheffe\n",
    )
    result = validate(text)
    assert result.valid, result.errors
    assert paths(result.warnings) == {"maintenance.sla", "maintenance.contacts[0].role"}


# --- still rejected: one file per rule class ---------------------------------------------------


def expected_path(path: Path) -> str:
    found = re.search(r"^# error-at: (\S+)$", path.read_text(encoding="utf-8"), re.MULTILINE)
    assert found, path
    return found.group(1)


def test_there_is_an_invalid_file_per_rule_class() -> None:
    assert len(INVALID) >= 25


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_each_invalid_file_is_rejected_with_its_one_key_path(path: Path) -> None:
    result = validate(path.read_bytes())
    assert not result.valid
    assert [issue.path for issue in result.errors] == [expected_path(path)], result.errors


# --- the command -------------------------------------------------------------------------------


def test_codegouv_publiccode_accepts_the_official_examples() -> None:
    outcome = CliRunner().invoke(main, ["publiccode", str(OFFICIAL), str(OFFICIAL_MINIMAL)])
    assert outcome.exit_code == 0, outcome.output
    assert f"{OFFICIAL} : valide (0 erreur(s), 1 avertissement(s))" in outcome.output
    assert f"{OFFICIAL_MINIMAL} : valide (0 erreur(s), 0 avertissement(s))" in outcome.output


def test_codegouv_publiccode_names_the_key_of_each_error(tmp_path: Path) -> None:
    bad = FIXTURES / "invalid" / "scope-not-in-list.yml"
    outcome = CliRunner().invoke(main, ["publiccode", str(OFFICIAL), str(bad)])
    assert outcome.exit_code == 1
    assert "erreur intendedAudience.scope[0] : 'police'" in outcome.output
    as_json = CliRunner().invoke(main, ["publiccode", "--json", str(OFFICIAL)])
    payload = json.loads(as_json.output.splitlines()[0])
    assert payload["valid"] is True and payload["errors"] == []
    assert payload["organisationUri"] == "urn:x-italian-pa:c_h501"


# --- stored: the publiccode table gains the 0.5/0.7 columns ---------------------------------


def test_organisation_and_supports_are_stored_in_the_publiccode_table() -> None:
    from crawler import db as store
    from crawler.models import (
        AccountDone,
        ForgeConfig,
        Owner,
        OwnerConfig,
        Repository,
        RepositoryPage,
    )

    account = OwnerConfig("github.com", "dinum")
    database = store.open_db()
    store.save_forge(
        database, ForgeConfig("github.com", "github", "https://api.github.com", (account,)), "ok"
    )
    now = "2026-11-29T00:00:00Z"
    run = store.start_run(database, now)
    row = validate(add("supports:\n  - id: alias:gdpr\n")).as_row("publiccode.yml")
    repository = Repository(
        "github.com",
        "dinum",
        "demarches",
        "https://github.com/dinum/demarches",
        has_publiccode=True,
        publiccode=row,
    )
    store.save_page(database, RepositoryPage(account, (repository,), None), run, now)
    store.finish_account(
        database, AccountDone(account, Owner("github.com", "dinum", "organization"), "s"), run, now
    )
    stored = database.table("publiccode").get("github.com/dinum/demarches")
    assert stored["valid"] == 1
    assert stored["organisation_uri"] == "https://www.data.gouv.fr/organizations/dinum"
    assert stored["organisation_name"] == "DINUM"
    assert json.loads(stored["supports"]) == ["alias:gdpr"]


def test_url_may_use_a_source_control_protocol_with_a_warning_to_prefer_https() -> None:
    git = 'url: "https://git.example.gouv.fr/dinum/demarches.git"=>url: "git://git.example.gouv.fr/d.git"'
    result = validate(base(u=git))
    assert result.valid, result.errors
    assert paths(result.warnings) == {"url"}
    for bad in ("ftp://example.fr/d", "git.example.gouv.fr/d", "git://"):
        wrong = 'url: "https://git.example.gouv.fr/dinum/demarches.git"=>url: "' + bad + '"'
        assert paths(validate(base(u=wrong)).errors) == {"url"}, bad
