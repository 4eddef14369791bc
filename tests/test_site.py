"""The static site, built from a real crawl of the local forge: pages, links, escaping of hostile
text, feeds, the search index's records, and the reuse of unchanged pages."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import sqlite3
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import _site_helpers as helpers
import pytest

from crawler.publish import site
from crawler.publish.site_data import safe_url

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return helpers.shared_site(tmp_path_factory)


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        for name in ("href", "src"):
            if attributes.get(name):
                self.urls.append(attributes[name])


def parse(path: Path) -> Links:
    parser = Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_every_kind_of_page_is_written(built):
    _, out, report = built
    for path in (
        "index.html",
        "depots/index.html",
        "organisations/index.html",
        "ministeres/index.html",
        "sill/index.html",
        "sill/185.html",
        "statistiques/index.html",
        "a-propos/index.html",
        "accessibilite/index.html",
        "mentions-legales/index.html",
        "404.html",
        "sitemap.xml",
        "flux/depots.xml",
        "flux/sill.xml",
        "pagefind/sill/pagefind.js",
        f"pagefind/depots/{site.shard_of('github.com/socialgouv')}/pagefind.js",
        "assets/dsfr/dsfr.min.css",
        "assets/dsfr/fonts/Marianne-Regular.woff2",
        "assets/search.js",
    ):
        assert (out / path).is_file(), path
    assert report.repositories > 2000 and report.indexed
    assert report.rendered == report.pages and report.reused == 0
    home = (out / "index.html").read_text(encoding="utf-8")
    assert '<html lang="fr"' in home and "République<br>Française" in home
    assert f"{report.repositories:,}".replace(",", "\u202f") + " dépôts" in home


def test_only_regular_and_bold_marianne_ship(built):
    _, out, _ = built
    fonts = sorted(p.name for p in (out / "assets/dsfr/fonts").iterdir())
    assert fonts == ["Marianne-Bold.woff2", "Marianne-Regular.woff2"]
    css = (out / "assets/dsfr/dsfr.min.css").read_text(encoding="utf-8")
    for reference in re.findall(r"url\(([^)\"']+)\)", css):
        if not reference.startswith("data:"):
            assert (out / "assets/dsfr" / reference).is_file(), reference


def test_internal_links_all_resolve(built):
    """Relative links everywhere: every internal href/src of the pages names a file of the
    site (so any static server, at any sub-path, serves it)."""
    _, out, _ = built
    pages = [p for p in out.rglob("*.html") if p.name != "404.html"]
    sample = [p for p in pages if "depots/" not in p.as_posix()] + sorted(
        (out / "depots").glob("*.html")
    )[:50]
    missing = []
    for page in sample:
        for url in parse(page).urls:
            parts = urlsplit(url)
            if parts.scheme or url.startswith(("#", "//", "/")):
                continue
            if url.startswith(("../data/", "../../data/")):  # the exports, beside the site
                continue
            target = (page.parent / unquote(parts.path)).resolve()
            if not target.exists():
                missing.append((page.relative_to(out).as_posix(), url))
    assert missing == []


def test_datasette_and_exports_urls_are_parameters(built, tmp_path):
    db_path, _, _ = built
    out = tmp_path / "site"
    site.build(db_path, out, datasette_url="https://donnees.example/inventaire", exports_url="x/")
    home = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="https://donnees.example/inventaire"' in home and 'href="x/"' in home
    organisation = next((out / "organisations").glob("github.com~*.html"))
    assert 'href="../x/"' in organisation.read_text(encoding="utf-8")


def test_hostile_text_is_escaped_everywhere(built):
    db_path, out, _ = built
    repository_id = helpers.hostile_repository_id(db_path)
    page = out / site.repository_path(repository_id)
    html = page.read_text(encoding="utf-8")
    for payload in (
        helpers.PAYLOAD_NAME,
        helpers.PAYLOAD_DESCRIPTION,
        helpers.PAYLOAD_OWNER_NAME,
        *helpers.PAYLOAD_TOPICS,
    ):
        assert payload not in html
    assert "&lt;script&gt;window.__pwned=2&lt;/script&gt;" in html
    parsed = parse(page)
    assert not [t for t, _ in parsed.tags if t in ("svg", "img")]
    assert [t for t, _ in parsed.tags].count("script") == 1  # the DSFR module, nothing else
    assert not [u for u in parsed.urls if u.lower().startswith("javascript")]
    assert "javascript:window.__pwned=6" in html  # shown, as text
    # the page file name is inert too
    assert re.fullmatch(r"depots/[a-z0-9._~-]+\.html", site.repository_path(repository_id))
    organisation = (out / site.owner_path(f"github.com/{helpers.HOSTILE_OWNER.lower()}")).read_text(
        encoding="utf-8"
    )
    assert helpers.PAYLOAD_OWNER_NAME not in organisation
    assert "&lt;img src=x onerror=window.__pwned=7&gt;Agence hostile" in organisation


def test_feeds_are_atom_and_carry_hostile_text_as_text(built):
    _, out, _ = built
    feed = ET.parse(out / "flux/depots.xml").getroot()
    assert feed.tag == f"{ATOM}feed"
    entries = feed.findall(f"{ATOM}entry")
    assert 0 < len(entries) <= site.FEED_SIZE
    organisation_feed = ET.parse(
        out / f"flux/organisations/{site.slug('github.com/' + helpers.HOSTILE_OWNER.lower())}.xml"
    ).getroot()
    titles = [e.findtext(f"{ATOM}title") for e in organisation_feed.findall(f"{ATOM}entry")]
    assert f"{helpers.PAYLOAD_OWNER_NAME} / {helpers.PAYLOAD_NAME}" in titles
    summaries = [e.findtext(f"{ATOM}summary") for e in organisation_feed.findall(f"{ATOM}entry")]
    assert helpers.PAYLOAD_DESCRIPTION in summaries  # parsed back to the very text, not markup
    for entry in organisation_feed.findall(f"{ATOM}entry"):
        href = entry.find(f"{ATOM}link").get("href")
        assert (out / "flux/organisations" / href).resolve().is_file()
    sill = ET.parse(out / "flux/sill.xml").getroot()
    assert len(sill.findall(f"{ATOM}entry")) == site.FEED_SIZE


def test_sitemap_lists_the_pages(built):
    _, out, _ = built
    root = ET.parse(out / "sitemap.xml").getroot()
    locations = [u.findtext("{http://www.sitemaps.org/schemas/sitemap/0.9}loc") for u in root]
    assert "" in locations and "sill/185.html" in locations
    assert sum(1 for loc in locations if loc.startswith("depots/")) > 2000


def test_organisation_page_has_its_quality_report(built):
    _, out, _ = built
    html = (out / site.owner_path("github.com/socialgouv")).read_text(encoding="utf-8")
    assert "Rapport de qualité" in html
    for title, _ in site.GAPS:
        assert f'id="manque-{title}"' in html
    assert "https://publiccode-editor.developers.italia.it/" in html
    assert "https://choosealicense.com/" in html
    assert "https://www.data.gouv.fr/fr/pages/legal/licences/" in html
    assert "codegouv publiccode" in html
    assert 'href="../depots/github.com~socialgouv~archifiltre.html"' in html


def test_sill_page_shows_linked_repositories_and_links(built):
    _, out, _ = built
    html = (out / "sill/185.html").read_text(encoding="utf-8")
    assert "Archifiltre" in html and "Dépôts publics qui construisent ce logiciel" in html
    assert 'href="../depots/github.com~socialgouv~archifiltre.html"' in html
    lemon = (out / "sill/77.html").read_text(encoding="utf-8")
    assert "gitlab.ow2.org~lemonldap-ng~lemonldap-ng.html" in lemon


def test_a_repository_is_indexed_from_its_record_not_its_page(built):
    """Pagefind reads a small record per repository (text, metadata, filters, sorts); the page
    itself carries no index markup, and each search page names its bundles."""
    db_path, out, _ = built
    page = out / "depots/github.com~socialgouv~archifiltre.html"
    assert not [a for _, a in parse(page).tags if any(k.startswith("data-pagefind") for k in a)]
    with sqlite3.connect(db_path) as connection:
        connection.row_factory = sqlite3.Row
        row = dict(
            connection.execute(
                "select r.*, o.name as owner_name, o.ministry from repositories r "
                "join owners o on o.id = r.owner where r.id = 'github.com/socialgouv/archifiltre'"
            ).fetchone()
        )
    view = site._repository(row, frozenset({"MIT", "Apache-2.0"}), [])
    path = site.repository_path(view["id"])
    record = site.environment().get_template("_record_depot.html").render(r=view, path=path)
    parser = Links()
    parser.feed(record)
    tags = parser.tags
    filters = {a["data-pagefind-filter"] for _, a in tags if a.get("data-pagefind-filter")}
    assert filters == {
        "licence", "libre", "langage", "forge", "organisation", "activite", "publiccode",
        "fork", "archive", "sill", *(["ministere"] if view["ministry"] else []),
    }  # fmt: skip
    sorts = {a["data-pagefind-sort"] for _, a in tags if a.get("data-pagefind-sort")}
    assert sorts == {"score", "activite", "etoiles"}
    assert record.count(f"~{path}</span>") == 3  # sort keys end with the page path
    assert any("data-pagefind-body" in a for _, a in tags) and len(record) < len(page.read_text())
    # filters, metadata and sort keys are not words of the index (the score's explanation
    # would make every record match "licence"); language and licence are, as text
    hidden = next(a for t, a in tags if t == "div" and "hidden" in a)
    assert "data-pagefind-ignore" in hidden
    assert f"<p>{view['language']} {view['licence_label']}</p>" in record
    search = parse(out / "depots/index.html").tags
    bundles = next(a["data-bundles"] for t, a in search if t == "form").split()
    assert bundles == sorted({f"pagefind/depots/{site.shard_of(o)}/" for o in owners(db_path)})
    assert all((out / "depots" / ".." / b / "pagefind-entry.json").is_file() for b in bundles)


def pagefind_file(path: Path) -> object:
    """A Pagefind index file's content: gzip, a signature, then CBOR (or JSON, a fragment)."""
    import cbor2

    raw = gzip.decompress(path.read_bytes())
    assert raw.startswith(site.PAGEFIND_SIGNATURE)
    body = raw[len(site.PAGEFIND_SIGNATURE) :]
    return json.loads(body) if path.suffix == ".pf_fragment" else cbor2.loads(body)


def sort_key(fragment: object, field: str) -> tuple[str, str]:
    """A repository's sort key as its record gives it (value as text, then the page's path),
    read back from its Pagefind fragment."""
    assert isinstance(fragment, dict)
    value = fragment["meta"].get(field) or ""
    text = (value or "0000") if field == "activity" else site.sort_key(int(value or 0))
    return text, unquote(fragment["url"]).split("/depots/", 1)[1]


def test_repository_sorts_are_rank_files_not_metadata(built):
    """Each repository bundle's metadata (fetched by every search) holds no sort; each sort is
    in rank files: every page of the bundle once, best first by the record's sort key (value,
    then the page's path), in ranges of the planned sizes, the last one marked."""
    _, out, _ = built
    bundles = sorted((out / "pagefind" / "depots").iterdir())
    assert len(bundles) == site.SHARDS
    for bundle in bundles:
        entry = json.loads((bundle / "pagefind-entry.json").read_text(encoding="utf-8"))
        language = entry["languages"]["fr"]
        meta = pagefind_file(bundle / f"pagefind.{language['hash']}.pf_meta")
        assert isinstance(meta, list) and meta[4] == []
        assert len(list(bundle.glob("*.pf_meta"))) == 1
        pages = {page_id for page_id, _ in meta[1]}
        assert len(pages) == language["page_count"]
        fragments = {
            page_id: pagefind_file(bundle / "fragment" / f"{page_id}.pf_fragment")
            for page_id in pages
        }
        for sort, field in (("score", "score"), ("etoiles", "stars"), ("activite", "activity")):
            ids: list[str] = []
            for k in range(len(site.RANK_RANGES) + 1):
                part = json.loads((bundle / site.RANKS / f"{sort}.{k}.json").read_text())
                if k < len(site.RANK_RANGES):
                    assert len(part["ids"]) == site.RANK_RANGES[k] or part["last"]
                ids += part["ids"]
                if part["last"]:
                    break
            assert not (bundle / site.RANKS / f"{sort}.{k + 1}.json").exists()
            assert sorted(ids) == sorted(pages)

            keys = {page_id: sort_key(fragment, field) for page_id, fragment in fragments.items()}
            assert ids == sorted(ids, key=keys.__getitem__, reverse=True), bundle.name
    sill = out / "pagefind" / "sill"
    entry = json.loads((sill / "pagefind-entry.json").read_text(encoding="utf-8"))
    meta = pagefind_file(sill / f"pagefind.{entry['languages']['fr']['hash']}.pf_meta")
    assert isinstance(meta, list) and {name for name, _ in meta[4]} == {"utilisateurs", "nom"}
    assert not (sill / site.RANKS).exists()


def owners(db_path: Path) -> set[str]:
    with sqlite3.connect(db_path) as connection:
        query = "select distinct owner from repositories where removed_at is null"
        return {owner for (owner,) in connection.execute(query)}


def test_the_default_listing_is_in_the_search_page(built):
    """The search page as built shows the first rows by score and the total: no script needed."""
    db_path, out, _ = built
    html = (out / "depots/index.html").read_text(encoding="utf-8")
    with sqlite3.connect(db_path) as connection:
        total = connection.execute(
            "select count(*) from repositories where removed_at is null"
        ).fetchone()[0]
        rows = connection.execute(
            "select id, coalesce(score, 0) from repositories where removed_at is null"
        ).fetchall()
    # by score, then page path, both descending: the index's order
    best = sorted(rows, key=lambda r: (r[1], site.repository_path(r[0])), reverse=True)
    best = best[: site.LISTING]
    assert f"{total} dépôts trouvés" in html
    links = [
        u
        for u in parse(out / "depots/index.html").urls
        if u.startswith("../depots/") and u != "../depots/index.html"
    ]
    assert links == ["../" + site.repository_path(i) for i, _ in best]
    assert [int(s) for s in re.findall(r"Score : (\d+)", html)] == [s for _, s in best]


def test_statistics_without_daily_stats_then_with(built, tmp_path):
    db_path, out, _ = built
    html = (out / "statistiques/index.html").read_text(encoding="utf-8")
    assert html.count("<svg") == 4 and html.count("<table") == 4
    copy = tmp_path / "inventory.db"
    shutil.copyfile(db_path, copy)
    with sqlite3.connect(copy) as connection:
        connection.execute(
            "create table if not exists daily_stats (date text, forge text, ministry text, "
            "repositories integer, licensed integer, active integer)"
        )
        connection.executemany(
            "insert into daily_stats (date, forge, ministry, repositories, licensed, active) "
            "values (?, 'github.com', null, ?, 1, 1)",
            [("2026-11-01", 100), ("2026-11-02", 120)],
        )
    site.build(copy, tmp_path / "site")
    html = (tmp_path / "site/statistiques/index.html").read_text(encoding="utf-8")
    assert html.count("<svg") == 5 and "2026-11-02" in html


def test_a_rebuild_reuses_unchanged_pages_and_renders_changed_ones(built, tmp_path):
    db_path, out, _ = built
    copy = tmp_path / "inventory.db"
    shutil.copyfile(db_path, copy)
    with sqlite3.connect(copy) as connection:
        connection.execute(
            "update repositories set description = 'Nouvelle description' "
            "where id = 'github.com/socialgouv/archifiltre'"
        )
    second = tmp_path / "second"
    report = site.build(copy, second, previous=out)
    assert report.reused > 2000 and report.rendered < 100
    # only the changed organisation's search shard is indexed again; the others are hard links
    changed = f"depots/{site.shard_of('github.com/socialgouv')}"
    assert report.bundles_indexed == [changed]
    assert sorted(report.bundles_reused) == sorted(
        {f"depots/{site.shard_of(o)}" for o in owners(db_path)} - {changed} | {"sill"}
    )
    for name in report.bundles_reused:
        for old in (out / "pagefind" / name).rglob("*"):
            if old.is_file():
                new = second / "pagefind" / name / old.relative_to(out / "pagefind" / name)
                assert new.stat().st_ino == old.stat().st_ino, new
    # the re-indexed shard holds the new text (Pagefind's fragments: gzip, then JSON)
    fragments = (second / "pagefind" / changed / "fragment").iterdir()
    texts = [gzip.decompress(f.read_bytes()).decode("utf-8", "replace") for f in fragments]
    assert sum("Nouvelle description" in t for t in texts) == 1
    assert "Nouvelle description" in (
        second / "depots/github.com~socialgouv~archifiltre.html"
    ).read_text(encoding="utf-8")
    assert "Nouvelle description" in (second / site.owner_path("github.com/socialgouv")).read_text(
        encoding="utf-8"
    )
    assert report.indexed  # a searchable page changed: the index is rebuilt
    # the previous site is untouched by the rebuild
    assert "Nouvelle description" not in (
        out / "depots/github.com~socialgouv~archifiltre.html"
    ).read_text(encoding="utf-8")
    third = tmp_path / "third"
    again = site.build(copy, third, previous=second)
    assert again.rendered < 40 and not again.indexed and not again.bundles_indexed
    assert (third / "pagefind" / changed / "pagefind.js").is_file()


def generated_stamp(out: Path) -> str:
    """The build's time, as its always-rendered feed of new repositories carries it."""
    feed = ET.parse(out / "flux" / "depots.xml").getroot()
    return feed.findtext(f"{ATOM}updated") or ""


def test_a_rebuild_is_byte_identical_to_a_full_build(built, tmp_path):
    """Pages reused from the previous build, changed ones rendered and the re-indexed shard: the
    rebuilt tree holds the same files with the same bytes as a full build of the same database.
    Only the build time that feeds carry differs, and in the search bundles, the filter chunks
    and what names them (entry, metadata): Pagefind names and splits those differently from one
    run to the next on the very same records; its fragments and word index are compared."""
    db_path, out, _ = built
    copy = tmp_path / "inventory.db"
    shutil.copyfile(db_path, copy)
    with sqlite3.connect(copy) as connection:
        changed = connection.execute(
            "update repositories set description = coalesce(description, '') || ' (modifié)', "
            "stars = stars + 1 where owner = 'github.com/socialgouv'"
        ).rowcount
        connection.execute(
            "update repositories set removed_at = '2026-01-01T00:00:00Z' "
            "where id = (select min(id) from repositories where owner = 'github.com/etalab' "
            "and removed_at is null)"
        )
    assert changed > 1
    rebuilt, full = tmp_path / "rebuilt", tmp_path / "full"
    report = site.build(copy, rebuilt, previous=out)
    assert report.reused > 2000 and report.bundles_reused
    site.build(copy, full)
    stamps = {generated_stamp(folder) for folder in (out, rebuilt, full)}

    def contents(folder: Path) -> dict[str, bytes]:
        files = {}
        for path in folder.rglob("*"):
            if path.is_file():
                parts = path.relative_to(folder).parts
                if parts[0] == "pagefind" and not {"fragment", "index"} & set(parts):
                    continue
                data = path.read_bytes()
                if path.suffix == ".xml":
                    for stamp in stamps:
                        data = data.replace(stamp.encode(), b"GENERATED")
                files[path.relative_to(folder).as_posix()] = data
        return files

    mine, reference = contents(rebuilt), contents(full)
    assert sorted(mine) == sorted(reference)
    different = [path for path in reference if mine[path] != reference[path]]
    assert different == []
    assert b"(modifi\xc3\xa9)" in mine["depots/github.com~socialgouv~archifiltre.html"]
    assert any(path.startswith("pagefind/depots/") for path in mine)


def test_missing_dsfr_is_one_clear_error(built, tmp_path):
    with pytest.raises(site.SiteError, match="make site-deps"):
        site.copy_assets(tmp_path, dist=tmp_path / "nowhere")


def test_missing_database_is_one_clear_error(tmp_path):
    with pytest.raises(site.SiteError, match="n'existe pas"):
        site.build(tmp_path / "absent.db", tmp_path / "site")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.org/a", "https://example.org/a"),
        ("  http://example.org  ", "http://example.org"),
        ("javascript:alert(1)", None),
        ("JaVaScRiPt:alert(1)", None),
        (" \tjavascript:alert(1)", None),
        ("java\nscript:alert(1)", None),
        ("data:text/html,<script>alert(1)</script>", None),
        ("//evil.example/x", None),
        ("http:///nohost", None),
        ("vbscript:x", None),
        (None, None),
        (42, None),
    ],
)
def test_safe_url_keeps_only_http_links(url, expected):
    assert safe_url(url) == expected


def test_a_build_given_its_own_folder_as_previous_renders_in_place(built, tmp_path):
    db_path, _, _ = built
    small = tmp_path / "small.db"
    shutil.copyfile(db_path, small)
    with sqlite3.connect(small) as connection:
        connection.execute(
            "delete from repositories where id not in "
            "(select id from repositories order by id limit 30)"
        )
    out = tmp_path / "site"
    site.build(small, out)
    report = site.build(small, out, previous=out)
    assert report.reused == 0 and report.repositories == 30
    pages = list((out / "depots").glob("*~*.html"))
    assert len(pages) == 30 and all(p.stat().st_size > 1000 for p in pages)
