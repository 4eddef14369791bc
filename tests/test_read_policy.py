"""The one read policy (crawler/forges/reads.py): what is read of a repository, in which order,
and where reading stops; and its README step, off unless a reader is given, wired in both
adapters (GitLab over the local forge's real HTTP)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler import db as store
from crawler.config import token_variables
from crawler.forges.base import RetryPolicy
from crawler.forges.gitlab import GitLabForge
from crawler.forges.reads import (
    MAX_LICENCE_FILES,
    Step,
    licence_steps,
    publiccode_to_read,
    read_licence,
    readme_files,
)
from crawler.models import Config, ForgeConfig, KnownRepository, OwnerConfig
from crawler.pipeline import crawl
from crawler.rootfiles import classify
from localforge import Dataset, LocalForge

TEXTS = Path(__file__).resolve().parents[1] / "crawler" / "licences" / "data" / "texts"
MIT = (TEXTS / "MIT.en.txt").read_text(encoding="utf-8")
ROOT = [
    ("README.md", "blob"),
    ("COPYING", "blob"),
    ("LICENSE", "blob"),
    ("COPYING.LESSER", "blob"),
    ("LICENSES", "tree"),
    ("package.json", "blob"),
    ("setup.cfg", "blob"),
    ("publiccode.yml", "blob"),
    ("src", "tree"),
]
UNLICENSED_ROOT = [("README.md", "blob"), ("package.json", "blob"), ("setup.cfg", "blob")]


class Reader:
    """Files served from a dict; every read and listing recorded, in order."""

    def __init__(self, files: dict[str, str], folders: dict[str, list[str]] | None = None):
        self.files = files
        self.folders = folders or {}
        self.asked: list[str] = []

    def read(self, path: str) -> str | None:
        self.asked.append(path)
        return self.files.get(path)

    def list_folder(self, path: str) -> list[str]:
        self.asked.append(path + "/")
        return self.folders.get(path, [])


def test_steps_in_order_of_likelihood_and_readme_off_by_default():
    files = classify(ROOT)
    steps = licence_steps(files, readmes=readme_files(n for n, _ in ROOT))
    assert [s.kind for s in steps][:MAX_LICENCE_FILES] == ["licence"] * MAX_LICENCE_FILES
    assert steps[0] == Step("licence", "LICENSE")
    assert Step("folder", "LICENSES") in steps
    kinds = [s.kind for s in steps]
    assert kinds.index("folder") < kinds.index("manifest")
    assert "readme" not in kinds  # no reader, no README step

    # a README never overrules a licence file, even one we cannot name: no README step
    beside = licence_steps(files, readmes=("README.md",), readme_licence=lambda text: None)
    assert "readme" not in [s.kind for s in beside]

    unlicensed = classify(UNLICENSED_ROOT)
    with_readme = licence_steps(
        unlicensed,
        readmes=readme_files(n for n, _ in UNLICENSED_ROOT),
        readme_licence=lambda text: None,
        max_manifests=1,
    )
    assert with_readme == (Step("manifest", "package.json"), Step("readme", "README.md"))


def test_reading_stops_at_the_first_licence_file_that_tells():
    files = classify(ROOT)
    reader = Reader({"LICENSE": MIT})
    steps = licence_steps(files)
    assert read_licence(files, steps, reader.read, reader.list_folder) == ("MIT", "detected")
    # both root licence files are read (a COPYING beside a COPYING.LESSER), nothing further
    assert reader.asked == [s.path for s in steps if s.kind == "licence"]


def test_unknown_file_then_reuse_folder_then_manifest_then_readme():
    files = classify(ROOT)
    steps = licence_steps(files, readmes=("README.md",), readme_licence=lambda t: None)

    folder = Reader(
        {"LICENSE": "Tous droits réservés, voir avec nous."}, {"LICENSES": ["EUPL-1.2.txt"]}
    )
    assert read_licence(files, steps, folder.read, folder.list_folder)[0] == "EUPL-1.2"
    assert folder.asked[-1] == "LICENSES/" and "package.json" not in folder.asked

    manifest = Reader({"package.json": json.dumps({"name": "x", "license": "Apache-2.0"})})
    assert read_licence(files, steps, manifest.read, manifest.list_folder) == (
        "Apache-2.0",
        "manifest",
    )
    assert "README.md" not in manifest.asked

    unlicensed = classify(UNLICENSED_ROOT)
    steps = licence_steps(unlicensed, readmes=("README.md",), readme_licence=lambda t: None)
    readme = Reader({"README.md": "# x\n\n## Licence\n\nMIT\n"})
    seen: list[str | bytes | None] = []

    def from_readme(text: str | bytes | None) -> str | None:
        seen.append(text)
        return "MIT" if text and "Licence" in str(text) else None

    assert read_licence(unlicensed, steps, readme.read, readme.list_folder, from_readme) == (
        "MIT",
        "readme",
    )
    assert readme.asked[-1] == "README.md" and seen == ["# x\n\n## Licence\n\nMIT\n"]


def test_nothing_to_read_leaves_the_forge_answer():
    bare = classify([("src", "tree")])
    reader = Reader({})
    assert read_licence(bare, licence_steps(bare), reader.read, reader.list_folder) == (
        "NONE",
        "forge",
    )
    gone = classify([("LICENSE", "blob")])  # listed in the tree, gone when read
    assert read_licence(gone, licence_steps(gone), reader.read, reader.list_folder) == (
        "NOASSERTION",
        "forge",
    )


def test_publiccode_read_once_per_push():
    files = classify(ROOT)
    assert publiccode_to_read(files, None) == "publiccode.yml"
    stored = KnownRepository("2024-01-01T00:00:00Z", {}, publiccode_read=True)
    assert publiccode_to_read(files, stored) is None
    assert publiccode_to_read(classify([("README", "blob")]), None) is None


@pytest.fixture()
def forge():
    with LocalForge(Dataset.load()) as served:
        yield served


def gitlab_group(forge: LocalForge) -> tuple[str, str]:
    """A GitLab group with public projects that hold a README but no licence file."""
    ds = forge.dataset
    for host in ds.hosts():
        if ds.kind(host) != "gitlab":
            continue
        for account in ds.accounts(host):
            repos = [
                r
                for r in ds.repositories(host, account.path)
                if r.visibility == "public" and not r.is_empty and r.licence_file_spdx is None
            ]
            if account.kind == "group" and len(repos) >= 2:
                return host, account.path
    pytest.fail("no GitLab group with unlicensed projects in the local forge")


def test_gitlab_readme_step_wired_over_http(forge, monkeypatch):
    host, group = gitlab_group(forge)
    config = Config(
        "test",
        (ForgeConfig(host, "gitlab", forge.api_url(host), (OwnerConfig(host, group),)),),
    )
    environ = {v: "t" for f in config.forges for v in token_variables(f)}
    quick = RetryPolicy(attempts=4, backoff=0.01, max_wait=5, timeout=10)

    monkeypatch.setattr(GitLabForge, "readme_licence", None)
    off = store.open_db()
    crawl(config, off, environ=environ, retry=quick)
    assert not list(off.query("select id from repositories where licence_source = 'readme'"))

    texts: list[str] = []

    def from_readme(text: str | bytes | None) -> str | None:
        decoded = text.decode() if isinstance(text, bytes) else text or ""
        texts.append(decoded)
        return "MIT" if decoded else None

    monkeypatch.setattr(GitLabForge, "readme_licence", staticmethod(from_readme))
    on = store.open_db()
    crawl(config, on, environ=environ, retry=quick)
    rows = list(on.query("select id, has_readme from repositories where licence_source = 'readme'"))
    assert rows and all(row["has_readme"] for row in rows)
    assert texts and all(text.strip() for text in texts)  # the READMEs' real content
    # only where the files left the licence unknown: what they told stays as it was
    told = {
        row["id"]: (row["licence"], row["licence_source"])
        for row in off.query(
            "select id, licence, licence_source from repositories "
            "where licence not in ('NONE', 'NOASSERTION')"
        )
    }
    assert told
    for row in on.query("select id, licence, licence_source from repositories"):
        if row["id"] in told:
            assert (row["licence"], row["licence_source"]) == told[row["id"]]
