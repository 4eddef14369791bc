"""The static site in a real headless Chromium (Debian's, driven by Playwright), served by a
plain static HTTP server: search, combined filters, SILL and organisation pages, axe-core at
WCAG 2.1 A+AA, injection payloads, the CSV download and the transfer budgets.

Screenshots are saved under tests/artifacts/site/ (git-ignored)."""

from __future__ import annotations

import gzip
import sqlite3
from pathlib import Path
from urllib.parse import unquote, urlsplit

import _site_helpers as helpers
import pytest

from crawler.publish import site

CHROMIUM = helpers.CHROMIUM
AXE = site.ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(__file__).parent / "artifacts" / "site"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

pytestmark = [
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="/usr/bin/chromium absent : `make site-deps` l'installe (apt-get install chromium)",
    ),
    pytest.mark.skipif(not AXE.exists(), reason="axe-core absent : lancez `make site-deps`"),
]

pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    db_path, out, _ = helpers.shared_site(tmp_path_factory)
    with helpers.serve(out) as url:
        yield db_path, out, url


@pytest.fixture(scope="module")
def browser():
    with helpers.chromium() as chromium:
        yield chromium


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    tab = context.new_page()
    tab.errors = []
    tab.on("pageerror", lambda error: tab.errors.append(str(error)))
    yield tab
    context.close()


def results(page) -> list[str]:
    """Wait for the search under way to settle, then the titles of the results shown."""
    page.wait_for_selector("#cg-results[data-state=done]", state="attached")
    return page.locator("#cg-results > li h3").all_inner_texts()


def found(page) -> int:
    text = page.locator("#cg-status").inner_text()
    return 0 if text.startswith("Aucun") else int(text.split()[0])


def db_count(db_path: Path, where: str, *args: object) -> int:
    with sqlite3.connect(db_path) as connection:
        query = f"select count(*) from repositories where removed_at is null and {where}"
        return int(connection.execute(query, args).fetchone()[0])


def shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def axe_violations(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        """async tags => {
            const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ')),
            }));
        }""",
        WCAG,
    )


def test_search_finds_the_expected_repositories(served, page):
    _, _, url = served
    page.goto(url + "depots/index.html?q=archifiltre")
    titles = results(page)
    assert "archifiltre" in titles and "archifiltre-site" in titles
    first = page.locator("#cg-results > li").first
    assert "Score" in first.inner_text()
    page.locator("#cg-results a", has_text="archifiltre-site").click()
    page.wait_for_load_state()
    assert page.url.endswith("depots/github.com~socialgouv~archifiltre-site.html")
    assert page.errors == []


def test_filters_combine_and_live_in_the_url(served, page):
    db_path, _, url = served
    page.goto(url + "depots/index.html")
    results(page)
    everything = found(page)
    assert everything == db_count(db_path, "1")
    page.select_option("#cg-forge", "github.com")
    results(page)
    github = found(page)
    assert github == db_count(db_path, "forge = 'github.com'") < everything
    page.select_option("#cg-licence", "MIT")
    titles = results(page)
    both = found(page)
    assert both == db_count(db_path, "forge = 'github.com' and licence = 'MIT'")
    assert 0 < both < github
    for text in page.locator("#cg-results > li").all_inner_texts():
        assert "Licence : MIT" in text
    assert "forge=github.com" in page.url and "licence=MIT" in page.url
    shared = page.url
    page.select_option("#cg-tri", "etoiles")
    results(page)
    stars = page.locator("#cg-results > li").all_inner_texts()
    assert "tri=etoiles" in page.url and len(stars) == min(both, 20)
    # the URL alone restores the filtered view
    other = page.context.new_page()
    other.goto(shared)
    assert results(other) == titles and found(other) == both
    assert other.locator("#cg-forge").input_value() == "github.com"


def test_the_organisation_filter_is_a_text_field_with_suggestions(served, page):
    db_path, out, url = served
    # The organisations (thousands on the real inventory): no <select> of them all.
    html = (out / "depots" / "index.html").read_text(encoding="utf-8")
    with sqlite3.connect(db_path) as connection:
        owners = connection.execute(
            "select count(distinct owner) from repositories where removed_at is null"
        ).fetchone()[0]
        label = connection.execute(
            "select coalesce(nullif(name, ''), login) from owners where id = ?",
            ("github.com/socialgouv",),
        ).fetchone()[0]
    assert owners > 20 and '<select class="fr-select" id="cg-organisation"' not in html
    assert f'<option value="{label}">' not in html
    page.goto(url + "depots/index.html")
    results(page)
    field = page.locator("#cg-organisation")
    assert field.evaluate("e => e.tagName") == "INPUT"
    field.focus()
    page.wait_for_function(
        "n => document.querySelectorAll('#cg-organisation-suggestions option').length === n",
        arg=owners,
    )
    suggestions = page.locator("#cg-organisation-suggestions option").evaluate_all(
        "options => options.map(o => o.value)"
    )
    assert label in suggestions
    field.fill(label)
    field.press("Enter")
    results(page)
    assert found(page) == db_count(db_path, "owner = 'github.com/socialgouv'") > 0
    for text in page.locator("#cg-results > li").all_inner_texts():
        assert f"Organisation : {label}" in text
    assert "organisation=" in page.url
    # the URL alone restores it
    other = page.context.new_page()
    other.goto(page.url)
    results(other)
    assert other.locator("#cg-organisation").input_value() == label
    assert found(other) == found(page)
    assert page.errors == []


def test_results_download_as_csv(served, page):
    _, _, url = served
    page.goto(url + "depots/index.html?q=archifiltre")
    results(page)
    with page.expect_download() as download:
        page.click("#cg-csv")
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0].startswith('"nom","organisation","depot"')
    assert any('"archifiltre"' in line and "socialgouv" in line for line in lines[1:])


def test_sill_page_shows_its_linked_repositories(served, page):
    _, _, url = served
    page.goto(url + "sill/185.html")
    table = page.locator("table", has_text="Dépôts du secteur public liés")
    assert table.locator("a", has_text="archifiltre-site").count() == 1
    page.goto(url + "sill/index.html?q=archifiltre")
    assert "Archifiltre" in results(page)


def test_sill_filters_combine(served, page):
    _, _, url = served
    page.goto(url + "sill/index.html")
    results(page)
    total = found(page)
    page.select_option("#cg-secteur_public", "oui")
    results(page)
    public = found(page)
    page.select_option("#cg-recommande", "oui")
    results(page)
    assert 0 < found(page) <= public < total


def test_organisation_page_shows_its_quality_report(served, page):
    _, _, url = served
    page.goto(url + "organisations/github.com~socialgouv.html")
    report = page.locator("#qualite")
    assert report.is_visible()
    assert page.locator("table", has_text="Synthèse du rapport de qualité").is_visible()
    assert page.locator("a[href='https://publiccode-editor.developers.italia.it/']").count() >= 1


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("accueil", "index.html"),
        ("recherche", "depots/index.html?q=archifiltre"),
        ("organisation", "organisations/github.com~socialgouv.html"),
        ("sill", "sill/185.html"),
        ("statistiques", "statistiques/index.html"),
        ("depot", "depots/github.com~socialgouv~archifiltre.html"),
    ],
)
def test_pages_have_no_axe_violations(served, page, name, path):
    _, _, url = served
    page.goto(url + path)
    if name == "recherche":
        results(page)
    shoot(page, name)
    assert axe_violations(page) == []
    assert page.errors == []


def test_injection_payloads_stay_text(served, page):
    db_path, _, url = served
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    repository_id = helpers.hostile_repository_id(db_path)
    owner = f"github.com/{helpers.HOSTILE_OWNER.lower()}"
    for path in (
        site.repository_path(repository_id),
        site.owner_path(owner),
        "depots/index.html?q=hostilepayload",
        f"flux/organisations/{site.slug(owner)}.xml",
        "flux/depots.xml",
        "organisations/index.html",
    ):
        page.goto(url + path)
        if "q=" in path:
            titles = results(page)
            assert helpers.PAYLOAD_NAME in titles
            text = page.locator("#cg-results").inner_text()
            assert helpers.PAYLOAD_DESCRIPTION in text and helpers.PAYLOAD_OWNER_NAME in text
            shoot(page, "injection-recherche")
        page.wait_for_timeout(200)
        assert page.evaluate("window.__pwned") is None, path
        assert page.locator("a[href^='javascript' i]").count() == 0, path
    page.goto(url + site.repository_path(repository_id))
    shoot(page, "injection-depot")
    assert page.locator("h1").inner_text() == helpers.PAYLOAD_NAME
    assert page.get_by_text(helpers.PAYLOAD_HOMEPAGE).count() == 1  # shown, not linked
    assert page.locator("a", has_text=helpers.PAYLOAD_HOMEPAGE).count() == 0
    assert page.locator("main svg, main img").count() == 0
    assert dialogs == [] and page.errors == []


def gzipped(out: Path, base: str, urls: list[str]) -> dict[str, int]:
    sizes = {}
    for url in urls:
        if not url.startswith(base):
            continue
        path = unquote(urlsplit(url).path.removeprefix(urlsplit(base).path))
        target = out / (path or "index.html")
        if target.is_dir():
            target = target / "index.html"
        if target.suffix in (".woff2", ".woff") or not target.is_file():
            continue
        sizes[path] = len(gzip.compress(target.read_bytes(), 9))
    return sizes


def requests_of(page) -> list[str]:
    """Every URL the page requests from now on, its Pagefind worker's fetches included (they
    are missing from the page's performance timeline)."""
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    return urls


def test_transfer_budgets(served, page):
    """Gzipped bytes the browser fetched, fonts left out: home ≤ 150 kB, first search ≤ 700 kB
    in all, a later search ≤ 150 kB."""
    _, out, url = served
    urls = requests_of(page)
    page.goto(url + "index.html")
    page.wait_for_load_state("networkidle")
    home = sum(gzipped(out, url, urls).values())
    urls.clear()
    page.goto(url + "depots/index.html?q=donnees")
    results(page)
    page.wait_for_load_state("networkidle")
    assert any("/pagefind/depots/" in u and u.endswith(".pf_meta") for u in urls)
    first = sum(gzipped(out, url, urls).values())
    urls.clear()
    page.fill("#cg-q", "carte")
    page.press("#cg-q", "Enter")
    results(page)
    page.wait_for_load_state("networkidle")
    later = sum(gzipped(out, url, urls).values())
    print(f"transfer (gzip, no fonts): home {home} B, first search {first} B, later {later} B")
    assert home <= 150_000 and first <= 700_000 and later <= 150_000


# --- the sharded index, merged in the browser ------------------------------------------------


def shown(page, rows: int) -> list[str]:
    """The result links' paths (from the site root), after asking for ``rows`` rows."""
    while page.locator("#cg-results > li").count() < rows and page.locator("#cg-more").is_visible():
        before = page.locator("#cg-results > li").count()
        page.click("#cg-more")
        page.wait_for_function(f"document.querySelectorAll('#cg-results > li').length > {before}")
    hrefs = page.locator("#cg-results > li h3 a").evaluate_all("links => links.map(a => a.href)")
    return [unquote(urlsplit(h).path).split("/depots/", 1)[1] for h in hrefs]


def by_page(db_path: Path) -> dict[str, dict]:
    """Each repository's sort values and shard, keyed by its page's name."""
    with sqlite3.connect(db_path) as connection:
        connection.row_factory = sqlite3.Row
        query = (
            "select id, owner, forge, licence, stars, score, last_commit_at, pushed_at "
            "from repositories where removed_at is null"
        )
        rows = [dict(r) for r in connection.execute(query)]
    return {
        site.repository_path(r["id"]).removeprefix("depots/"): {
            **r,
            "shard": site.shard_of(r["owner"]),
            "activity": max(r["last_commit_at"] or "", r["pushed_at"] or "")[:10] or "0000",
        }
        for r in rows
    }


@pytest.mark.parametrize(
    ("sort", "key"), [("etoiles", "stars"), ("score", "score"), ("activite", "activity")]
)
def test_sorts_are_exact_across_shards(served, page, sort, key):
    """A sorted view merges the shards on the sort value: its first 60 rows are the database's
    60 best, in order, drawn from several shards."""
    db_path, _, url = served
    rows = by_page(db_path)
    page.goto(url + f"depots/index.html?tri={sort}")
    results(page)
    assert found(page) == len(rows)
    paths = shown(page, 60)
    assert len(paths) == 60 and len(set(paths)) == 60
    values = [rows[p][key] or 0 for p in paths]
    best = sorted((r[key] or 0 for r in rows.values()), reverse=True)[:60]
    assert values == best
    assert len({rows[p]["shard"] for p in paths}) >= 3
    assert page.errors == []


def test_filters_and_sort_combine_across_shards(served, page):
    db_path, _, url = served
    rows = by_page(db_path)
    wanted = [p for p, r in rows.items() if r["forge"] == "github.com" and r["licence"] == "MIT"]
    assert len({rows[p]["shard"] for p in wanted}) == len({r["shard"] for r in rows.values()})
    page.goto(url + "depots/index.html?forge=github.com&licence=MIT&tri=etoiles")
    results(page)
    assert found(page) == len(wanted)
    paths = shown(page, len(wanted))
    # every one of them, whatever its shard, in the order of the sort key (stars, then path)
    assert paths == sorted(wanted, key=lambda p: (rows[p]["stars"] or 0, p), reverse=True)


def test_a_sort_fetches_only_the_rank_files_it_needs(served, browser):
    """A search without a sort fetches no rank file (the bundles' metadata holds no sort); a
    sorted listing's first page fetches, per bundle, the first range of that sort only."""
    db_path, _, url = served
    rows = by_page(db_path)
    context = browser.new_context()
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(urlsplit(request.url).path))
    page.goto(url + "depots/index.html?q=archifiltre")
    results(page)
    assert "pagefind/depots/0/pagefind.js" in " ".join(requested)
    assert not [u for u in requested if "/rangs/" in u]
    shards = sorted({r["shard"] for r in rows.values()})
    page.goto(url + "depots/index.html?tri=etoiles")
    results(page)
    ranks = sorted(u.split("/pagefind/", 1)[1] for u in requested if "/rangs/" in u)
    assert ranks == [f"depots/{shard}/rangs/etoiles.0.json" for shard in shards]
    context.close()


def test_a_query_finds_repositories_in_every_shard(served, page):
    """One word, matches spread over the shards: all found (as many as the database holds)."""
    db_path, _, url = served
    rows = by_page(db_path)
    page.goto(url + "depots/index.html?forge=gitlab.ow2.org")
    results(page)
    ow2 = [p for p, r in rows.items() if r["forge"] == "gitlab.ow2.org"]
    assert found(page) == len(ow2) > 0
    assert sorted(shown(page, len(ow2))) == sorted(ow2)
    page.goto(url + "depots/index.html?q=archifiltre")
    titles = results(page)
    assert "archifiltre" in titles


def test_the_default_listing_needs_no_javascript(served, browser):
    db_path, _, url = served
    rows = by_page(db_path)
    best = sorted(rows.values(), key=lambda r: -(r["score"] or 0))[: site.LISTING]
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(url + "depots/index.html")
    items = page.locator("#cg-results > li")
    assert items.count() == site.LISTING
    assert page.locator("#cg-status").inner_text() == f"{len(rows)} dépôts trouvés"
    scores = [int(t.rsplit("Score : ", 1)[1].split()[0]) for t in items.all_inner_texts()]
    assert scores == [r["score"] or 0 for r in best]
    assert not [u for u in requested if "pagefind" in u]
    context.close()


def test_the_search_page_loads_pagefind_only_when_asked(served, page):
    _, _, url = served
    urls = requests_of(page)
    page.goto(url + "depots/index.html")
    page.wait_for_load_state("networkidle")
    assert len(results(page)) == site.LISTING
    assert not [u for u in urls if "/pagefind/" in u]
    default = page.locator("#cg-results > li h3").all_inner_texts()
    page.click("#cg-more")  # more rows: the same view, now from the index
    page.wait_for_function("document.querySelectorAll('#cg-results > li').length > 20")
    assert page.locator("#cg-results > li h3").all_inner_texts()[: site.LISTING] == default
    assert [u for u in urls if "/pagefind/" in u]
    assert page.errors == []
