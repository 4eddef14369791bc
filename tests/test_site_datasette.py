"""The injection check of the public Datasette instance, in a real headless Chromium: the
repository and owner carrying script and HTML payloads (the site tests' demo database) are
shown as text on the table page, the row pages and a full-text search, nothing runs, and a
``javascript:`` homepage is never a live link."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import _site_helpers as helpers
import pytest
from datasette.utils import tilde_encode

from tests._datasette_helpers import publish, serving

CHROMIUM = helpers.CHROMIUM
ARTIFACTS = Path(__file__).parent / "artifacts" / "site"
DB = "inventory"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="/usr/bin/chromium absent : `make site-deps` l'installe (apt-get install chromium)",
)

pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def datasette(tmp_path_factory):
    """`codegouv serve` on the publication of the poisoned demo database."""
    db_path, _, _ = helpers.shared_site(tmp_path_factory)
    out = tmp_path_factory.mktemp("published-hostile") / "public"
    publish(db_path, out)
    with serving("--out", str(out)) as running:
        yield db_path, running.url


@pytest.fixture(scope="module")
def browser():
    with helpers.chromium() as chromium:
        yield chromium


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.errors = []
    tab.dialogs = []
    tab.on("pageerror", lambda error: tab.errors.append(str(error)))
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    yield tab
    context.close()


def inert(page, path: str) -> str:
    """Open ``path``, check that no payload ran and no ``javascript:`` link is live; returns
    the page's visible text."""
    answer = page.goto(path)
    assert answer is not None and answer.status == 200, path
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(200)  # an onerror/onload would have fired by now
    assert page.evaluate("window.__pwned") is None, path
    assert page.locator("a[href^='javascript' i], [href*='javascript:' i]").count() == 0, path
    injected = "document.querySelectorAll('[onload], [onerror], img[src=x]').length"
    assert page.evaluate(injected) == 0, path
    assert page.dialogs == [] and page.errors == [], path
    return page.locator("body").inner_text()


@pytest.mark.long
def test_payloads_stay_text_in_datasette(datasette, page):
    db_path, url = datasette
    repository_id = helpers.hostile_repository_id(db_path)
    owner = f"github.com/{helpers.HOSTILE_OWNER.lower()}"
    table = f"{url}/{DB}/repositories"

    # the table page, filtered on the hostile owner
    text = inert(page, f"{table}?owner={quote(owner, safe='')}")
    assert helpers.PAYLOAD_NAME in text and "hostilepayload" in text
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "injection-datasette-table.png"), full_page=True)

    # a full-text search that finds it
    text = inert(page, f"{table}?_search=hostilepayload")
    assert helpers.PAYLOAD_DESCRIPTION in text and helpers.PAYLOAD_HOMEPAGE in text
    assert page.locator("a", has_text=helpers.PAYLOAD_HOMEPAGE).count() == 0

    # its row page: every payload shown as the very text, the homepage not a link
    text = inert(page, f"{table}/{tilde_encode(repository_id)}")
    for payload in (
        helpers.PAYLOAD_NAME,
        helpers.PAYLOAD_DESCRIPTION,
        helpers.PAYLOAD_HOMEPAGE,
        *helpers.PAYLOAD_TOPICS,
    ):
        assert payload in text or payload.replace('"', '\\"') in text, payload
    assert page.get_by_text(helpers.PAYLOAD_HOMEPAGE).count() >= 1
    assert page.locator("a", has_text=helpers.PAYLOAD_HOMEPAGE).count() == 0
    page.screenshot(path=str(ARTIFACTS / "injection-datasette-row.png"), full_page=True)

    # the owner's row page and the owners' search
    text = inert(page, f"{url}/{DB}/owners/{tilde_encode(owner)}")
    assert helpers.PAYLOAD_OWNER_NAME in text
    text = inert(page, f"{url}/{DB}/owners?_search=hostile")
    assert helpers.PAYLOAD_OWNER_NAME in text
