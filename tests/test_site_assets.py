"""The DSFR assets the site ships (issue 11's budgets): only the part of the DSFR the pages use,
and nothing the pages use missing. Checked on the demo site the other site tests build, then in
a real headless Chromium on a phone-sized screen (the header's menu and the breadcrumb, driven
by the DSFR's JS as shipped)."""

from __future__ import annotations

import gzip
import re
from collections import Counter

import _site_helpers as helpers
import pytest

from crawler.publish import site

CHROMIUM = helpers.CHROMIUM
DIST = site.dsfr_dist()
pytestmark = pytest.mark.skipif(
    not (DIST / "dsfr.min.css").is_file(), reason="DSFR absent : lancez `make site-deps`"
)

_CLASS_ATTRIBUTE = re.compile(r'\sclass="([^"]*)"')
_STRING = re.compile(r"\"(?:[^\"\\]|\\.)*\"")
_RULE = re.compile(r"([^{};]+)\{([^{}]*)\}")
_VAR = re.compile(r"var\((--[\w-]+)")
_NOT = re.compile(r":not\((?:[^()]|\([^()]*\))*\)")
_SELECTOR_CLASS = re.compile(r"\.(fr-(?:[\w-]|\\.)+)")
_CLASS_TEST = re.compile(r"\[class[\^*|~]?=[\"']?\s?(fr-[\w-]*)")


def rules(css: str) -> list[tuple[list[str], list[tuple[str, str]]]]:
    """A stylesheet's style rules (in or out of ``@media``): their selectors, their
    declarations (property, value)."""
    found = []
    # strings that could hide a brace (data: URLs) blanked, those of selectors kept
    css = _STRING.sub(lambda m: '""' if re.search("[{};]", m.group()) else m.group(), css)
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    for raw, body in _RULE.findall(css):
        prelude = raw.strip()
        if prelude.startswith("@") or not prelude:
            continue
        split, depth, start = [], 0, 0
        for i, char in enumerate(prelude + ","):
            depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(char, 0)
            if char == "," and depth == 0:
                split.append(prelude[start:i])
                start = i + 1
        declarations = [d.split(":", 1) for d in body.split(";") if ":" in d]
        found.append((split, [(name.strip(), value) for name, value in declarations]))
    return found


def selectors(css: str) -> Counter[str]:
    """Every selector of a stylesheet's style rules, counted."""
    return Counter(s for split, _ in rules(css) for s in split)


def needs(selector: str) -> tuple[set[str], list[str]]:
    """The classes an element must carry for ``selector`` to match it (outside ``:not()``),
    and the class prefixes its ``[class^=fr-…]`` tests ask for."""
    bare = _NOT.sub("", selector)
    names = {re.sub(r"\\(.)", r"\1", c) for c in _SELECTOR_CLASS.findall(bare)}
    return names, _CLASS_TEST.findall(bare)


def matchable(selector: str, used: set[str]) -> bool:
    """Whether an element of the pages can match ``selector``, as far as its classes tell (and
    its theme: ``used`` holds ``data-fr-theme`` when a page can switch to the dark one)."""
    names, prefixes = needs(selector)
    themed = "[data-fr-theme" not in _NOT.sub("", selector) or "data-fr-theme" in used
    return themed and names <= used and all(any(u.startswith(p) for u in used) for p in prefixes)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    _, out, _ = helpers.shared_site(tmp_path_factory)
    return out


@pytest.fixture(scope="module")
def used(built):
    """Every ``fr-`` class of every page of the site, and those our search script adds (and
    ``data-fr-theme`` if a page carries the DSFR's theme switch)."""
    names: set[str] = set()
    pages = list(built.rglob("*.html"))
    assert len(pages) > 1000
    for page in pages:
        html = page.read_text(encoding="utf-8")
        for value in _CLASS_ATTRIBUTE.findall(html):
            names.update(n for n in value.split() if n.startswith("fr-"))
        if "data-fr-scheme" in html or "data-fr-theme" in html:
            names.add("data-fr-theme")
    script = (built / "assets" / "search.js").read_text(encoding="utf-8")
    names.update(re.findall(r"(?<![\w-])fr-[\w-]+", script))
    return names


def test_every_dsfr_rule_a_page_can_match_is_shipped(built, used):
    """Each selector of the whole DSFR stylesheet that the pages' classes can match (an element
    carrying every class it names) is in the shipped one, as many times, when its rule sets
    more than custom properties (those are checked below): no class a page uses lost its
    style. (A class whose every DSFR selector also needs a class no page has, such as
    ``fr-table--sm`` without the 1.12 table markup, styles nothing in either.)"""
    full = rules((DIST / "dsfr.min.css").read_text(encoding="utf-8"))
    shipped = selectors((built / "assets" / "dsfr" / "dsfr.min.css").read_text(encoding="utf-8"))
    wanted = Counter(
        s
        for split, declarations in full
        if any(not name.startswith("--") for name, _ in declarations)
        for s in split
        if matchable(s, used)
    )
    assert {"fr-header", "fr-btn--menu", "fr-h5", "fr-text--sm", "fr-badge--success"} <= used
    for name in ("fr-header__menu", "fr-btn--menu", "fr-h5", "fr-text--sm", "fr-badge--success"):
        assert any(name in needs(s)[0] for s in wanted), name
    assert sorted(s for s, n in wanted.items() if shipped[s] < n) == []
    styled = {c for s in wanted for c in needs(s)[0]}
    shipped_classes = {c for s in shipped for c in needs(s)[0]}
    assert sorted(styled - shipped_classes) == []


def test_every_custom_property_read_is_shipped(built, used):
    """The DSFR's custom properties (its colours, spacings…) that something shipped reads with
    ``var()`` (the shipped DSFR, our site.css, the DSFR's JS, which sets and reads a few) are
    set by the shipped stylesheet wherever the whole one sets them on a selector the pages can
    match; none is left unset."""
    folder = built / "assets" / "dsfr"
    css = (folder / "dsfr.min.css").read_text(encoding="utf-8")
    readers = css + (built / "assets" / "site.css").read_text(encoding="utf-8")
    read = set(_VAR.findall(readers))
    read |= set(re.findall(r"--[\w-]+", (folder / "dsfr.module.min.js").read_text("utf-8")))
    assert {"--text-mention-grey", "--background-action-high-blue-france"} <= read
    shipped = {(s, n) for split, declared in rules(css) for s in split for n, _ in declared}
    full = rules((DIST / "dsfr.min.css").read_text(encoding="utf-8"))
    wanted = {
        (s, name)
        for split, declarations in full
        for s in split
        if matchable(s, used)
        for name, _ in declarations
        if name in read
    }
    assert (":root", "--text-mention-grey") in wanted
    assert sorted(wanted - shipped) == []
    # and no var() of the shipped DSFR or of site.css names a property the DSFR sets but the
    # shipped stylesheet does not
    declared = {n for _, declarations in full for n, _ in declarations if n.startswith("--")}
    unset = set(_VAR.findall(readers)) & declared - {n for _, n in shipped}
    assert sorted(unset) == []


def test_only_what_the_pages_use_is_shipped(built, used):
    """No icon class the pages do not carry, no component they do not show, and a stylesheet
    much lighter than the DSFR's whole one."""
    full_css = (DIST / "dsfr.min.css").read_bytes()
    shipped_css = (built / "assets" / "dsfr" / "dsfr.min.css").read_bytes()
    shipped = {c for s in selectors(shipped_css.decode()) for c in needs(s)[0]}
    icons = {c for c in shipped if c.startswith(("fr-icon-", "fr-fi-"))}
    assert icons <= used
    assert not {"fr-card", "fr-accordion", "fr-tabs", "fr-sidemenu", "fr-tooltip"} & shipped
    assert len(gzip.compress(shipped_css, 9)) < len(gzip.compress(full_css, 9)) / 2
    module = (built / "assets" / "dsfr" / "dsfr.module.min.js").read_bytes()
    whole = (DIST / "dsfr.module.min.js").read_bytes()
    assert len(gzip.compress(module, 9)) < len(gzip.compress(whole, 9))


# --- in the browser, on a phone-sized screen ------------------------------------------------


@pytest.fixture
def phone(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium absent : `make site-deps` l'installe")
    pytest.importorskip("playwright.sync_api")
    _, out, _ = helpers.shared_site(tmp_path_factory)
    with helpers.serve(out) as url, helpers.chromium() as browser:
        context = browser.new_context(viewport={"width": 375, "height": 740})
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.on(
            "console",
            lambda m: page.errors.append(m.text) if m.type == "error" else None,
        )
        yield page, url


def test_the_header_menu_opens_on_a_narrow_screen(phone):
    page, url = phone
    page.goto(url + "index.html")
    page.wait_for_load_state("networkidle")
    menu = page.locator("#modal-menu")
    link = menu.get_by_role("link", name="Organisations")
    assert not link.is_visible()
    page.get_by_role("button", name="Menu").click()
    link.wait_for(state="visible")
    assert "fr-modal--opened" in (menu.get_attribute("class") or "")
    assert page.locator("#button-menu").get_attribute("data-fr-opened") == "true"
    menu.get_by_role("button", name="Fermer").click()
    link.wait_for(state="hidden")
    page.get_by_role("button", name="Menu").click()
    link.click()
    page.wait_for_url("**/organisations/index.html")
    assert page.errors == []


def test_the_breadcrumb_opens_on_a_narrow_screen(phone):
    page, url = phone
    page.goto(url + "organisations/index.html")
    page.wait_for_load_state("networkidle")
    home = page.locator(".fr-breadcrumb").get_by_role("link", name="Accueil")
    assert not home.is_visible()
    page.get_by_role("button", name="Voir le fil d'Ariane").click()
    home.wait_for(state="visible")
    assert page.errors == []
