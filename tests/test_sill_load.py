"""sill.load: the four SILL export shapes, their detection, broken entries and non-SILL input."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import responses

from sill._fields import EntryError, to_iso
from sill.licences import spdx_licence
from sill.load import (
    BUNDLED_2022,
    BUNDLED_V2_EXTRACT,
    DATA_DIR,
    OFFLINE_SOURCE,
    SILL_URL,
    SILL_V2_URL,
    USER_AGENT,
    SillError,
    SillFormatError,
    SillSourceError,
    detect_shape,
    fetch_url,
    load,
)
from sill.models import SHAPES, SillExport, Software

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "sill"
V1 = FIXTURES / "v1-catalogi.json"
V2023 = FIXTURES / "2023-2024-sill-api.json"


def by_id(export: SillExport, software_id: int) -> Software:
    return next(s for s in export.software if s.id == software_id)


@pytest.fixture(scope="module")
def sill_2022() -> SillExport:
    return load(BUNDLED_2022)


@pytest.fixture(scope="module")
def sill_v2() -> SillExport:
    return load(BUNDLED_V2_EXTRACT)


@pytest.fixture(scope="module")
def sill_v1() -> SillExport:
    return load(V1)


@pytest.fixture(scope="module")
def sill_2023() -> SillExport:
    return load(V2023)


# -- the real 2022 export --------------------------------------------------------------------


def test_2022_real_file_loads_whole(sill_2022: SillExport) -> None:
    assert sill_2022.shape == "2022"
    assert len(sill_2022.software) == 240
    assert sill_2022.warnings == ()
    assert sill_2022.source == str(BUNDLED_2022)


def test_2022_7zip(sill_2022: SillExport) -> None:
    seven = by_id(sill_2022, 1)
    assert seven.name == "7zip"
    assert seven.licence == seven.licence_spdx == "LGPL-2.0-only"
    assert seven.version_min == "19"
    assert seven.referenced_since == "2018-01-01T00:00:00Z"
    assert seven.sill_years == (2018, 2019, 2020, 2021, 2022)
    assert seven.comptoir_du_libre_id == 72
    assert seven.framalibre_id == "7-zip"
    assert seven.website == "https://www.7-zip.org/"
    assert seven.repository_url == "https://sourceforge.net/projects/sevenzip/files/7-Zip/"
    assert seven.description == "Compression de fichier"
    assert seven.description_en == "Open-source file archiver and extractor"
    assert seven.categories == ("Données et contenu", "Compression décompression")
    assert seven.mim_group == "MIMO"
    assert seven.status == "R"
    assert (seven.is_dereferenced, seven.is_in_observation) == (False, False)
    # The 2022 export dropped the Wikidata ids and had no user counts: unknown, not zero.
    assert seven.wikidata_id is None
    assert seven.users_count is None and seven.instances_count is None


def test_2022_statuses_and_flags(sill_2022: SillExport) -> None:
    audacity = by_id(sill_2022, 14)
    assert audacity.status == "FR" and audacity.is_dereferenced
    assert audacity.last_recommended_version == audacity.version_max == "2.4.2"
    assert sum(s.is_in_observation is True for s in sill_2022.software) == 48
    assert sum(s.is_dereferenced for s in sill_2022.software) == 12
    public = {s.name for s in sill_2022.software if s.is_from_french_public_service}
    assert {"Archifiltre", "VITAM", "OpenFisca", "Onyxia"} <= public
    assert len(public) == 8
    assert sum(bool(s.is_present_in_support_contract) for s in sill_2022.software) == 100
    tuleap = next(s for s in sill_2022.software if s.name == "Tuleap")
    assert tuleap.catalogue_numerique_url == "https://catalogue.numerique.gouv.fr/solutions/tuleap"


def test_2022_similar_ids_get_names(sill_2022: SillExport) -> None:
    avidemux = [s for s in sill_2022.similar if s.software_id == 15]
    assert [(s.sill_id, s.name, s.is_in_sill) for s in avidemux] == [(193, "OpenShot", True)]
    onyxia = [s.name for s in sill_2022.similar if s.software_id == 233]
    assert onyxia == ["AWS", "Google Cloud Platform", "Microsoft Azure"]
    assert all(s.is_in_sill is None for s in sill_2022.similar if s.software_id == 233)


# -- the real v2 extract ---------------------------------------------------------------------


def test_v2_real_extract(sill_v2: SillExport) -> None:
    assert sill_v2.shape == "v2"
    assert [s.id for s in sill_v2.software] == [1, 606, 540]
    assert sill_v2.warnings == ()
    seven = by_id(sill_v2, 1)
    assert seven.wikidata_id == "Q215051"
    assert (seven.external_id, seven.external_source) == ("Q215051", "wikidata")
    assert seven.comptoir_du_libre_id == 72
    assert seven.framalibre_id == "7-zip"
    assert seven.repository_url == "https://github.com/ip7z/7zip"
    assert seven.website == "https://7-zip.org/"
    assert seven.version_min == "19"
    assert seven.referenced_since == "2018-01-01T00:00:00Z"
    assert (seven.latest_version, seven.latest_version_date) == ("26.03", "2026-09-04T00:00:00Z")
    assert seven.operating_systems == ("windows",) and seven.runtime_platforms == ("desktop",)
    assert seven.respects_rgaa is False
    assert seven.instances_count is None  # v2 has no instances


def test_v2_counts_are_summed_over_organisations(sill_v2: SillExport) -> None:
    raw = json.loads(BUNDLED_V2_EXTRACT.read_text(encoding="utf-8"))[0]
    counts = raw["userAndReferentCountByOrganization"]
    seven = by_id(sill_v2, 1)
    assert seven.users_count == sum(c["userCount"] for c in counts.values()) == 63
    assert seven.referents_count == 3
    orgs = {o.organisation: o for o in sill_v2.organisations if o.software_id == 1}
    assert len(orgs) == len(counts)
    assert (orgs["MEN"].users_count, orgs["MEN"].referents_count) == (3, 1)


def test_v2_dereferenced_anaconda(sill_v2: SillExport) -> None:
    anaconda = by_id(sill_v2, 606)
    assert anaconda.name == "Anaconda"
    assert anaconda.is_dereferenced
    assert anaconda.dereferencing_reason == "Plateforme gratuite mais code source indisponible"
    assert anaconda.dereferencing_time == "2025-09-04T09:50:48Z"
    assert anaconda.last_recommended_version == "43.35"
    assert anaconda.licence == "GNU" and anaconda.licence_spdx is None
    assert anaconda.respects_rgaa is None
    assert anaconda.repository_url is None
    assert anaconda.wikidata_id == "Q18209310"
    assert anaconda.referenced_since == "2025-08-19T13:34:28Z"
    assert (anaconda.users_count, anaconda.referents_count) == (1, 0)
    assert not by_id(sill_v2, 540).is_dereferenced


def test_v2_keywords_providers_similar(sill_v2: SillExport) -> None:
    harden = by_id(sill_v2, 540)
    assert "SYSVOL" in harden.keywords
    assert all(isinstance(k, str) for k in harden.keywords)  # legacy Wikidata item dropped
    assert harden.licence_spdx == "AGPL-3.0-only"
    providers = [p for p in sill_v2.providers if p.software_id == 1]
    ariege = next(p for p in providers if p.name == "Libre en Ariège")
    assert ariege.website == "https://www.libre-en-ariege.fr/"
    assert ariege.comptoir_du_libre_url == "https://comptoir-du-libre.org/fr/users/3999"
    similar = [s for s in sill_v2.similar if s.software_id == 1]
    assert [s.name for s in similar] == ["WinZip", "WinRAR", "compress", "PowerArchiver"]
    assert similar[0].wikidata_id == "Q688317" and similar[0].is_in_sill is False


# -- v1 (catalogi.json) ----------------------------------------------------------------------


def test_v1_fixture(sill_v1: SillExport) -> None:
    assert sill_v1.shape == "v1"
    assert [s.id for s in sill_v1.software] == [1, 606, 540, 180, 223, 205]
    seven = by_id(sill_v1, 1)
    assert seven.wikidata_id == "Q215051"
    assert seven.repository_url == "https://github.com/ip7z/7zip"
    assert seven.website == "https://7-zip.org/"
    assert seven.referenced_since == "2018-01-01T00:00:00Z"
    assert seven.latest_version == "26.03"
    assert seven.updated_at == "2025-09-05T12:31:21Z"
    assert (seven.users_count, seven.referents_count, seven.instances_count) == (8, 2, 0)
    assert seven.has_expert_referent is False
    assert seven.authors == ("Igor Pavlov",)
    assert seven.is_in_observation is False


def test_v1_epoch_ms_and_iso_dereferencing(sill_v1: SillExport, sill_v2: SillExport) -> None:
    # Anaconda was dereferenced before v1.55.2: epoch ms in v1, ISO in v2, one instant.
    assert by_id(sill_v1, 606).dereferencing_time == by_id(sill_v2, 606).dereferencing_time
    assert by_id(sill_v1, 606).referenced_since == by_id(sill_v2, 606).referenced_since
    codimd = by_id(sill_v1, 180)  # dereferenced later: ISO string in v1 too
    assert codimd.is_dereferenced and codimd.dereferencing_time == "2026-05-12T08:30:00Z"
    assert codimd.last_recommended_version == "1.6.0"
    assert codimd.licence_spdx == "AGPL-3.0-only"


def test_v1_instances_organisations_custom_attributes(sill_v1: SillExport) -> None:
    hedgedoc = by_id(sill_v1, 223)
    assert hedgedoc.instances_count == 2
    instances = [i for i in sill_v1.instances if i.software_id == 223]
    assert [(i.instance_id, i.organisation, i.url) for i in instances] == [
        (12, "DINUM", "https://notes.example.gouv.fr/"),
        (13, "Académie de Lyon", None),
    ]
    orgs = {o.organisation for o in sill_v1.organisations if o.software_id == 223}
    assert orgs == {"DINUM", None}  # the "null" key: users without an organisation
    assert hedgedoc.custom_attributes["isRecommandedByIntermin"] is True
    assert hedgedoc.is_in_observation is True
    ds = by_id(sill_v1, 205)
    assert ds.is_from_french_public_service is True and ds.respects_rgaa is True


def test_v1_similar_in_sill_found_by_wikidata(sill_v1: SillExport) -> None:
    (similar,) = [s for s in sill_v1.similar if s.software_id == 180]
    assert (similar.name, similar.is_in_sill, similar.sill_id) == ("HedgeDoc", True, 223)


def test_v1_broken_entries_are_skipped_with_id_and_field(
    sill_v1: SillExport, caplog: pytest.LogCaptureFixture
) -> None:
    expected = [
        ("entry 9001", "'keywords'"),
        ("entry 9002", "'name'"),
        ("entry #9 (no id)", "'id'"),
        ("entry 9003", "'customAttributes.isFromFrenchPublicService'"),
        ("entry 9004", "'instances[0].organization'"),
        ("entry 9005", "'referencedSinceTime'"),
        ("entry #13 (no id)", "expected an object"),
    ]
    assert sill_v1.skipped == len(expected) == len(sill_v1.warnings)
    for warning, (entry, field) in zip(sill_v1.warnings, expected, strict=True):
        assert warning.startswith(entry) and field in warning, warning
    with caplog.at_level(logging.WARNING, logger="sill.load"):
        load(V1)
    logged = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(logged) == len(expected)
    assert "entry 9001" in logged[0].getMessage()
    assert logged[0].args  # %-style arguments, not a pre-formatted string


# -- 2023–2024 (sill-api) --------------------------------------------------------------------


def test_2023_fixture(sill_2023: SillExport) -> None:
    assert sill_2023.shape == "2023-2024"
    assert [s.id for s in sill_2023.software] == [1, 227, 14]
    seven = by_id(sill_2023, 1)
    assert seven.wikidata_id == "Q215051"
    assert seven.external_source == "wikidata"
    assert seven.comptoir_du_libre_id == 72
    assert seven.website == "https://www.7-zip.org/"
    assert seven.logo_url is not None and seven.logo_url.startswith("https://upload.wikimedia")
    assert seven.version_min == "19"
    assert seven.latest_version == "23.01"
    assert seven.latest_version_date == "2023-06-22T00:00:00Z"
    assert seven.runtime_platforms == ("desktop",)
    assert seven.operating_systems == ("windows",)
    assert seven.authors == ("Igor Pavlov",)
    assert seven.description_en == "open-source file archiver and extractor"
    # LIBRE EXPERT appears in serviceProviders and in the Comptoir du Libre data: one row.
    (provider,) = [p for p in sill_2023.providers if p.software_id == 1]
    assert provider.name == "LIBRE EXPERT"
    assert provider.website == "https://www.libre-expert.com/"
    assert provider.comptoir_du_libre_url == "https://comptoir-du-libre.org/fr/users/312"


def test_2023_pre_february_2024_names(sill_2023: SillExport) -> None:
    keycloakify = by_id(sill_2023, 227)
    assert keycloakify.wikidata_id == "Q999000227"
    assert keycloakify.repository_url == "https://github.com/InseeFrLab/keycloakify"
    assert keycloakify.website == "https://keycloakify.dev"
    assert keycloakify.parent_software == "Keycloak"
    assert keycloakify.runtime_platforms == ("stack",)
    assert keycloakify.is_from_french_public_service is True
    assert keycloakify.catalogue_numerique_url == (
        "https://catalogue.numerique.gouv.fr/solutions/keycloakify"
    )
    (cnll,) = [p for p in sill_2023.providers if p.software_id == 227]
    assert (cnll.name, cnll.siren) == ("Code Lutin", "443061841")
    (instance,) = sill_2023.instances
    assert instance.other_software == ("Onyxia",)


def test_2023_dereferenced_epoch_ms(sill_2023: SillExport) -> None:
    audacity = by_id(sill_2023, 14)
    assert audacity.is_dereferenced
    assert audacity.dereferencing_time == "2022-05-01T00:00:00Z"
    assert audacity.last_recommended_version == "2.4.2"
    assert audacity.runtime_platforms == ("desktop",)


def test_2023_broken_entries(sill_2023: SillExport) -> None:
    assert len(sill_2023.warnings) == 3
    assert (
        "entry 9101" in sill_2023.warnings[0] and "'referencedSinceTime'" in sill_2023.warnings[0]
    )
    assert "entry 9102" in sill_2023.warnings[1] and "'softwareType'" in sill_2023.warnings[1]
    assert "entry 9103" in sill_2023.warnings[2] and "'id'" in sill_2023.warnings[2]


# -- shape detection -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "shape"),
    [
        ({"id": "1", "i": "7zip", "st": "R", "y": "2018", "g": "MIMO"}, "2022"),
        ({"id": 1, "name": "7zip", "addedTime": "2018-01-01T00:00:00.000Z"}, "v2"),
        ({"id": 1, "name": "7zip", "referencedSinceTime": 0, "customAttributes": None}, "v1"),
        ({"id": 1, "name": "7zip", "referencedSinceTime": 0, "runtimePlatforms": []}, "v1"),
        # v1.43.21 to v1.51 (2025): no customAttributes yet, but external data by sourceSlug.
        (
            {
                "id": 1,
                "name": "7zip",
                "referencedSinceTime": 0,
                "softwareType": {"type": "cloud"},
                "softwareExternalData": {"externalId": "Q215051", "sourceSlug": "wikidata"},
            },
            "v1",
        ),
        (
            {"id": 1, "name": "7zip", "referencedSinceTime": 0, "softwareType": {"type": "cloud"}},
            "2023-2024",
        ),
    ],
)
def test_detect_shape(entry: dict[str, object], shape: str) -> None:
    assert detect_shape([entry]) == shape
    assert shape in SHAPES


def test_detect_shape_by_majority() -> None:
    v2_entry = {"id": 1, "name": "a", "addedTime": "2020-01-01", "similarSoftwares": []}
    stray = {"id": 2, "name": "b", "referencedSinceTime": 0, "customAttributes": {}}
    assert detect_shape([v2_entry, v2_entry, stray, "junk"]) == "v2"


# -- not a SILL export -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<!DOCTYPE html><html><body>Maintenance</body></html>", "HTML"),
        (b"", "empty"),
        (b"   \n", "empty"),
        (b'{"software": [', "invalid JSON"),
        (b"[]", "empty list"),
        (b'{"catalog": [], "services": []}', "catalog, services"),
        (b'{"total_count": 0, "items": []}', "a JSON object (keys: items, total_count)"),
        (b"[1, 2, 3]", "array of numbers"),
        (b'"sill"', "a string, not an array"),
        (b'[{"id": 1, "full_name": "etalab/x", "html_url": "https://github.com"}]', "keys"),
        (b"\xff\xfe[]", "UTF-8"),
        # SILL-shaped, but not one entry can be read.
        (b'[{"referencedSinceTime": 0, "name": "no id"}]', "no SILL entry could be read"),
    ],
)
def test_not_a_sill_export(data: bytes, message: str) -> None:
    with pytest.raises(SillFormatError) as caught:
        load(data)
    assert message in str(caught.value)
    assert str(caught.value).startswith("<bytes>: ")
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, SillError)


def test_format_error_names_the_file_and_the_url(tmp_path: Path) -> None:
    page = tmp_path / "sill.json"
    page.write_text("<html><body>502 Bad Gateway</body></html>", encoding="utf-8")
    with pytest.raises(SillFormatError, match=f"^{page}: not a SILL export"):
        load(page)
    with pytest.raises(SillFormatError, match=f"^{SILL_URL}: not a SILL export"):
        load(SILL_URL, fetch=lambda url: b"[]")


def test_source_errors(tmp_path: Path) -> None:
    with pytest.raises(SillSourceError, match="cannot read"):
        load(tmp_path / "missing.json")
    with pytest.raises(SillSourceError, match="only http"):
        load("ftp://example.org/sill.json")


# -- sources: bytes, files, URLs -------------------------------------------------------------


def test_load_bytes_with_bom() -> None:
    export = load(b"\xef\xbb\xbf" + BUNDLED_V2_EXTRACT.read_bytes())
    assert export.shape == "v2" and export.source == "<bytes>"


def test_load_url_through_injected_fetch() -> None:
    asked: list[str] = []

    def fetch(url: str) -> bytes:
        asked.append(url)
        return BUNDLED_V2_EXTRACT.read_bytes()

    export = load(SILL_V2_URL, fetch=fetch)
    assert asked == [SILL_V2_URL]
    assert export.source == SILL_V2_URL and export.shape == "v2"


@responses.activate
def test_fetch_url_sends_user_agent() -> None:
    responses.get(
        SILL_URL,
        body=V1.read_bytes(),
        match=[
            responses.matchers.header_matcher(
                {"User-Agent": USER_AGENT, "Accept": "application/json"}
            )
        ],
    )
    export = load(SILL_URL)
    assert export.shape == "v1" and export.source == SILL_URL


@responses.activate
def test_fetch_url_errors() -> None:
    responses.get(SILL_URL, status=503)
    with pytest.raises(SillSourceError, match="HTTP 503") as caught:
        fetch_url(SILL_URL)
    assert caught.value.status == 503
    responses.get(SILL_V2_URL, body=requests.ConnectionError("refused"))
    with pytest.raises(SillSourceError, match="refused"):
        fetch_url(SILL_V2_URL)


@responses.activate
def test_plain_http_only_on_loopback() -> None:
    with pytest.raises(SillSourceError, match="plain http refused"):
        fetch_url("http://code.gouv.fr/sill/api/sill.json")
    assert len(responses.calls) == 0
    responses.get("http://127.0.0.1:8765/sill.json", body=BUNDLED_V2_EXTRACT.read_bytes())
    assert load("http://127.0.0.1:8765/sill.json").shape == "v2"


def test_bundled_data_and_its_sources() -> None:
    assert OFFLINE_SOURCE == BUNDLED_2022
    sources = (DATA_DIR / "SOURCES.md").read_text(encoding="utf-8")
    for path in (BUNDLED_2022, BUNDLED_V2_EXTRACT):
        assert path.is_file()
        assert path.name in sources
    assert "Licence Ouverte" in sources
    assert SILL_URL == "https://code.gouv.fr/sill/api/sill.json"


def test_sill_imports_nothing_from_crawler() -> None:
    # ... but crawler.licences, a leaf: one SPDX normalisation for both (issue 13).
    code = (
        "import sys, sill.load, sill.match, sill.models\n"
        "bad = sorted(m for m in sys.modules if m.startswith('crawler.')\n"
        "             and not m.startswith('crawler.licences'))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- dates and licences ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        1756979448708,
        1756979448708.0,
        "1756979448708",
        1756979448,  # seconds, accepted out of caution
        "2025-09-04T09:50:48.708Z",
        "2025-09-04T11:50:48.708+02:00",
        "2025-09-04T09:50:48",
    ],
)
def test_dates_all_become_iso_utc(value: object) -> None:
    assert to_iso(value, "time") == "2025-09-04T09:50:48Z"


def test_dates_edge_cases() -> None:
    assert to_iso("2026-09-04", "d") == "2026-09-04T00:00:00Z"
    assert to_iso(None, "d") is None and to_iso("", "d") is None
    for bad in ("hier", True, [2025], 10**20):
        with pytest.raises(EntryError) as caught:
            to_iso(bad, "time")
        assert caught.value.field == "time"


@pytest.mark.parametrize(
    ("raw", "spdx"),
    [
        ("LGPL-2.0-only", "LGPL-2.0-only"),
        ("GPL-3.0", "GPL-3.0-only"),
        ("AGPL-3.0", "AGPL-3.0-only"),
        ("GPL-2.0+", "GPL-2.0-or-later"),
        ("GPL V2.0", "GPL-2.0-only"),
        ("LGPL-v2.1", "LGPL-2.1-only"),
        ("AGPLv3", "AGPL-3.0-only"),
        ("apache-2.0", "Apache-2.0"),
        ("cecill-2.1", "CECILL-2.1"),
        ("GPL-2.0-only OR MIT", "GPL-2.0-only OR MIT"),
        ("GNU", None),
        ("GNU LGPL", None),
        ("N/A", None),
        ("LGPL-2.1, LGPL-2.0,  LGPL-3.0", None),
        ("MPL 2.0 et EPL 1.0", None),
        ("", None),
        (None, None),
    ],
)
def test_spdx_licence(raw: str | None, spdx: str | None) -> None:
    assert spdx_licence(raw) == spdx


def test_status_replacing_dereferencing_is_read() -> None:
    """The export code of 2026-10 may replace ``dereferencing`` with ``status`` (formats doc
    §5): an archived entry must not come back as recommended."""
    base = {"id": 7, "name": "x", "addedTime": "2020-01-01T00:00:00.000Z"}
    archived = {
        **base,
        "status": {
            "name": "archived",
            "changed": {
                "reason": "Abandonné",
                "time": 1756979448708,
                "lastRecommendedVersion": "2",
            },
        },
    }
    published = {**base, "id": 8, "status": {"name": "published"}}
    export = load(json.dumps([archived, published]).encode())
    first, second = export.software
    assert first.is_dereferenced and first.dereferencing_reason == "Abandonné"
    assert first.dereferencing_time == "2025-09-04T09:50:48Z"
    assert not second.is_dereferenced


def test_records_are_hashable(sill_v1: SillExport) -> None:
    assert len({*sill_v1.software, *sill_v1.instances, *sill_v1.organisations}) > 0


def test_duplicate_id_keeps_the_first() -> None:
    entry = {"id": "1", "i": "7zip", "st": "R", "y": "2018", "g": "MIMO"}
    export = load(json.dumps([entry, {**entry, "i": "7-Zip"}]).encode())
    assert [s.name for s in export.software] == ["7zip"]
    assert export.warnings == ("entry 1 (7-Zip): skipped: duplicate id 1",)
