"""publiccode.yml validation: valid files, files with warnings, invalid files of the standard."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler.publiccode import Contact, Issue, PubliccodeResult, validate

FIXTURES = Path(__file__).parent / "fixtures" / "publiccode"


def load(name: str) -> PubliccodeResult:
    return validate((FIXTURES / name).read_bytes())


def paths(issues: tuple[Issue, ...]) -> set[str]:
    return {issue.path for issue in issues}


def test_valid_04_file_and_its_fields() -> None:
    result = load("valid-0.4.yml")
    assert result.valid, result.errors
    assert result.errors == ()
    # 0.4 is not the latest: the standard's "0" is advised (0.5's deprecations do not apply)
    assert paths(result.warnings) == {"publiccodeYmlVersion"}
    assert result.version == "0.4"
    assert result.name == "Démarches Simplifiées Locales"
    assert result.url == "https://github.com/exemple-ministere/demarches-locales.git"
    assert result.landing_url == "https://demarches-locales.example.gouv.fr"
    assert (result.software_version, result.release_date) == ("2.3.1", "2024-03-18")
    assert result.development_status == "stable"
    assert result.software_type == "standalone/web"
    assert result.platforms == ("web",)
    assert result.categories == ("digital-citizenship", "workflow-management")
    assert dict(result.short_descriptions) == {
        "fr": "Dématérialiser les démarches administratives des collectivités en quelques clics.",
        "en": "Paperless administrative procedures for local authorities.",
    }
    assert (result.licence, result.licence_spdx) == ("AGPL-3.0-or-later", "AGPL-3.0-or-later")
    assert result.maintenance_type == "internal"
    assert result.maintenance_contacts == (
        Contact("Camille Martin", "camille.martin@example.gouv.fr", None, "Ministère de l'Exemple"),
        Contact("Dominique Bernard", None, "+33 1 23 45 67 89", None),
    )


def test_valid_02_file_with_contractors_and_unquoted_date() -> None:
    result = load("valid-0.2.yml")
    assert result.valid, result.errors
    assert paths(result.warnings) == {"publiccodeYmlVersion"}  # not the latest version
    assert result.release_date == "2019-11-05"
    assert result.platforms == ("web",)
    assert result.licence_spdx == "etalab-2.0"
    assert result.maintenance_type == "contract"
    assert result.maintenance_contractors == ("Exemple Cartographie SARL",)


def test_file_with_warnings_is_valid_and_says_what_to_improve() -> None:
    result = load("warnings.yml")
    assert result.valid, result.errors
    assert {
        "monochromeLogo",
        "legal.authorsFile",
        "description.fr.genericName",
        "tags",
        "softwareVersion",
        "releaseDate",
    } <= paths(result.warnings)
    messages = {issue.path: issue.message for issue in result.warnings}
    assert "deprecated" in messages["monochromeLogo"]
    assert result.licence_spdx == "CECILL-B"


def test_invalid_file_reports_every_error_with_its_key_path() -> None:
    result = load("invalid.yml")
    assert not result.valid
    assert {
        "name",
        "url",
        "releaseDate",
        "platforms",
        "developmentStatus",
        "softwareType",
        "description.français",
        "description.français.shortDescription",
        "description.français.longDescription",
        "description.français.documentation",
        "description",
        "legal.license",
        "maintenance.contacts",
        "maintenance.contacts[0].name",
        "maintenance.contacts[0].email",
        "localisation.localisationReady",
        "localisation.availableLanguages[0]",
    } <= paths(result.errors)
    messages = {issue.path: issue.message for issue in result.errors}
    assert "production" in messages["developmentStatus"]
    assert "standalone/web" in messages["softwareType"]
    assert "18/03/2024" in messages["releaseDate"]


def test_unknown_version_is_an_error_and_the_rest_is_still_checked() -> None:
    result = load("unknown-version.yml")
    assert not result.valid
    assert paths(result.errors) == {"publiccodeYmlVersion", "maintenance.contractors"}


MINIMAL = """\
publiccodeYmlVersion: "0.3"
name: Mini
url: "https://git.example.fr/mini"
platforms: [linux]
categories: [office]
developmentStatus: concept
softwareType: configurationFiles
description:
  fr:
    shortDescription: Un exemple minimal.
    longDescription: "{long}"
    features: [Rien]
legal:
  license: MIT
maintenance:
  type: none
localisation:
  localisationReady: false
  availableLanguages: [fr]
"""


def minimal() -> str:
    return MINIMAL.replace("{long}", "x" * 160)


def test_minimal_valid_file() -> None:
    result = validate(minimal())
    assert result.valid, result.errors
    assert paths(result.warnings) == {"publiccodeYmlVersion"}


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"categories: [office]\n": ""}, "categories"),  # mandatory before 0.4
        ({"type: none": "type: volunteers"}, "maintenance.type"),
        ({"type: none": "type: contract"}, "maintenance.contractors"),
        ({"license: MIT": "license: GPL-3.0 OR"}, "legal.license"),
        ({"softwareType: configurationFiles": "softwareType: softwareAddon"}, "softwareType"),
        ({"platforms: [linux]": "platforms: {os: linux}"}, "platforms"),
        ({"localisationReady: false": "localisationReady: 1"}, "localisation.localisationReady"),
        ({'url: "https://git.example.fr/mini"': "url: ftp://example.fr/mini"}, "url"),
        ({"name: Mini\n": ""}, "name"),
        ({"features: [Rien]": "features: Rien"}, "description.fr.features"),
    ],
)
def test_each_rule(change: dict[str, str], path: str) -> None:
    text = minimal()
    for old, new in change.items():
        assert old in text
        text = text.replace(old, new)
    result = validate(text)
    assert not result.valid
    assert path in paths(result.errors), result.errors


def test_categories_are_only_recommended_in_04() -> None:
    text = minimal().replace('"0.3"', '"0.4"').replace("categories: [office]\n", "")
    result = validate(text)
    assert result.valid, result.errors
    assert "categories" in paths(result.warnings)


def test_deprecated_spdx_id_is_a_warning() -> None:
    result = validate(minimal().replace("license: MIT", "license: GPL-3.0"))
    assert result.valid
    assert result.licence_spdx == "GPL-3.0-only"
    assert "legal.license" in paths(result.warnings)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name: [unclosed", "not valid YAML"),
        ("- a\n- list\n", "mapping"),
        (b"\xff\xfename: x", "not UTF-8"),
        ("a: &x [1, 2]\nb: *x\n", "aliases"),
        ("", "mapping"),
        ("name: !!python/object:os.system ls\n", "not valid YAML"),
    ],
)
def test_unreadable_files(content: str | bytes, message: str) -> None:
    result = validate(content)
    assert not result.valid
    assert len(result.errors) == 1
    assert message in result.errors[0].message
    assert result.errors[0].path == ""


def test_as_dict_is_json_ready() -> None:
    data = load("warnings.yml").as_dict()
    text = json.dumps(data, ensure_ascii=False)
    assert json.loads(text)["valid"] is True
    assert {"path": "monochromeLogo", "message": "deprecated since 0.3: use logo only"} in data[
        "warnings"
    ]
