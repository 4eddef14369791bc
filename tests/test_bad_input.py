"""Bad files and bad input: hostile fetched files fail alone, bad exports and databases are
refused before anything is written, and the command line answers in one line, never a
traceback (issue 9, its non-forge parts)."""

from __future__ import annotations

import errno
import json
import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import crawler.lock
from crawler import db as store
from crawler.cli import main
from crawler.forges.base import RetryPolicy
from crawler.licences import from_manifest
from crawler.licences.bounded import (
    ParseError,
    json_depth,
    load_json,
    load_toml,
    load_yaml,
    toml_shape,
)
from crawler.models import Config, ForgeConfig, OwnerConfig
from crawler.pipeline import crawl
from crawler.publiccode import validate
from localforge import Dataset, LocalForge
from localforge import content as forge_content
from localforge import manifests as forge_manifests
from sill import load as sill_load
from tests.hostile import Answer, HostileServer

DEEP = 500
#: The issue's 1 kB publiccode.yml of nested brackets.
NESTED_YAML = "[" * DEEP + "]" * DEEP
NESTED_JSON = '{"license": "MIT", "x": ' + "[" * 5000 + "]" * 5000 + "}"
NESTED_TOML = '[package]\nlicense = "MIT"\nx = ' + "[" * DEEP + "]" * DEEP + "\n"
NESTED_PYPROJECT = '[project]\nlicense = "MIT"\nx = ' + "{a = " * DEEP + "1" + "}" * DEEP + "\n"
#: Nine aliases of nine aliases of nine: 729 leaves from 30 lines, 9^n for n levels.
ALIAS_BOMB = "\n".join(
    [
        "a: &a [x, x, x, x, x, x, x, x, x]",
        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]",
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]",
        "d: [*c, *c, *c, *c, *c, *c, *c, *c, *c]",
        "",
    ]
)


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def one_line(result: Result) -> str:
    """The single line a refused command writes, with no traceback."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


# --- bounded parsing, unit level -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": [1, {"b": [2]}]}', 4),
        ('{"a": "[[[[[[\\"[[[", "b": [[1]]}', 3),  # brackets in strings do not count
        ('["]]]]]]", [["]]]", [[]]]]]', 5),
    ],
)
def test_json_depth_reads_strings_as_the_parser_does(text: str, expected: int) -> None:
    assert json_depth(text) == expected


def test_toml_shape_skips_strings_and_comments() -> None:
    text = 'a = """ [[[ \n "" ]]] """\nb.c.d = [[1]] # [[[[\n[x.y]\nz = \'[[[\'\n'
    assert toml_shape(text) == (2, 3)


@pytest.mark.parametrize(
    ("load", "text"),
    [
        (load_json, "[" * 100_000 + "]" * 100_000),
        (load_toml, "x = " + "[" * DEEP + "]" * DEEP),
        (load_toml, "x = " + "{a = " * DEEP + "1" + "}" * DEEP),
        (load_yaml, NESTED_YAML),
        (load_yaml, "a:\n" + "".join("  " * i + "b:\n" for i in range(1, DEEP))),
        (load_yaml, "- " * DEEP + "x\n"),
    ],
)
def test_deep_nesting_is_refused_before_the_parser_recurses(load, text: str) -> None:
    with pytest.raises(ParseError, match="nested deeper than 64 levels"):
        load(text, max_bytes=1024 * 1024)


@pytest.mark.parametrize(
    "text",
    [
        '"\\' * 200_000,  # one long line of escaped quotes, never closed
        "x = '" + "a'" * 200_000,
        'x = """' + 'a""' * 150_000,
    ],
)
def test_prescans_stay_linear_on_unterminated_strings(text: str) -> None:
    # Retrying each later quote of an unterminated line would be quadratic (minutes here).
    started = time.monotonic()
    json_depth(text)
    toml_shape(text)
    assert time.monotonic() - started < 3


def test_prescans_stop_where_the_parser_would_fail() -> None:
    # Brackets after an unterminated string are never parsed: they need not be counted.
    assert json_depth('[["' + "[" * 1000) == 2
    assert toml_shape('x = [[ """' + "[" * 1000) == (2, 1)
    assert toml_shape("x = ['" + "[" * 1000) == (1, 1)


def test_dotted_toml_keys_are_capped() -> None:
    # tomllib spends a time quadratic in a dotted key's parts: 20,000 parts took 30 s.
    started = time.monotonic()
    with pytest.raises(ParseError, match="dotted key"):
        load_toml("a" + ".b" * 20_000 + " = 1\n", max_bytes=1024 * 1024)
    assert time.monotonic() - started < 2


def test_yaml_aliases_and_node_counts_are_capped() -> None:
    with pytest.raises(ParseError, match="aliases are not allowed"):
        load_yaml(ALIAS_BOMB, max_bytes=4096)
    with pytest.raises(ParseError, match="more than 3 YAML aliases"):
        load_yaml(ALIAS_BOMB, max_bytes=4096, max_aliases=3)
    with pytest.raises(ParseError, match="more than 100 YAML nodes"):
        load_yaml("[" + ", ".join(["x"] * 200) + "]", max_bytes=4096, max_nodes=100)


@pytest.mark.parametrize(
    ("load", "text", "message"),
    [
        (load_json, "1" * 5000, "invalid JSON"),  # beyond Python's int digit limit
        (load_toml, "a = " + "1" * 5000, "invalid TOML"),
        (load_yaml, "a: " + "1" * 5000, "not valid YAML"),
        (load_yaml, "a: 2024-13-45\n", "not valid YAML"),  # ValueError from the constructor
        (load_json, b"\xff\xfe[]", "not UTF-8"),
        (load_json, "[1]" + " " * 2000, "larger than 1 KiB"),
    ],
)
def test_every_failure_is_a_parse_error(load, text: str | bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        load(text, max_bytes=1024 if message.startswith("larger") else 8192)


def test_normal_files_still_parse() -> None:
    assert load_json('{"a": [1, {"b": "]"}]}', max_bytes=1024) == {"a": [1, {"b": "]"}]}
    assert load_toml("a.b = [1.5, 2.5]\n[t]\nx = {y = 1}\n", max_bytes=1024) == {
        "a": {"b": [1.5, 2.5]},
        "t": {"x": {"y": 1}},
    }
    assert load_yaml("a: [1, {b: c}]\n", max_bytes=1024) == {"a": [1, {"b": "c"}]}


# --- publiccode.yml and manifests: an invalid result, never an exception --------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (NESTED_YAML, "nested deeper than 64 levels"),
        ("description:\n" + "  " * 2 + "[" * DEEP, "nested deeper than 64 levels"),
        (ALIAS_BOMB, "aliases are not allowed"),
        ("releaseDate: 2024-13-45\n", "not valid YAML"),
        ("name: x\n" + "#" * (600 * 1024), "larger than 512 KiB"),
    ],
)
def test_hostile_publiccode_is_an_invalid_file(content: str, message: str) -> None:
    result = validate(content)
    assert not result.valid
    assert [(issue.path, message in issue.message) for issue in result.errors] == [("", True)]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("package.json", NESTED_JSON),
        ("composer.json", '{"license": "MIT", "x": ' + '{"a": ' * 5000 + "1" + "}" * 5000 + "}"),
        ("Cargo.toml", NESTED_TOML),
        ("pyproject.toml", NESTED_PYPROJECT),
        ("pom.xml", "<!DOCTYPE p [<!ENTITY a 'MIT'>]><project><licenses><license><name>&a;"),
        ("package.json", '{"license": "MIT", "pad": "' + "x" * (600 * 1024) + '"}'),
    ],
)
def test_hostile_manifest_declares_nothing(name: str, content: str) -> None:
    assert from_manifest(name, content) is None
    # The same manifest, well-formed, does declare its licence.
    assert from_manifest("package.json", '{"license": "MIT", "x": [[[]]]}') == "MIT"


# --- codegouv publiccode / licence: one line per bad file -----------------------------------------


def test_cli_publiccode_reports_a_hostile_file_in_one_line(tmp_path: Path) -> None:
    nested = tmp_path / "publiccode.yml"
    nested.write_text(NESTED_YAML)
    result = run("publiccode", str(nested))
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.output.splitlines() == [
        f"{nested} : invalide (1 erreur(s), 0 avertissement(s))",
        "  erreur (fichier) : nested deeper than 64 levels",
    ]


def test_cli_publiccode_does_not_read_an_endless_file() -> None:
    result = run("publiccode", "/dev/zero")
    assert result.exit_code == 1
    assert "larger than 512 KiB" in result.output


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("package.json", NESTED_JSON),
        ("Cargo.toml", NESTED_TOML),
        ("pyproject.toml", NESTED_PYPROJECT),
    ],
)
def test_cli_licence_reads_a_hostile_manifest_as_declaring_nothing(
    tmp_path: Path, name: str, content: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    result = run("licence", str(path))
    assert result.exit_code == 0
    line = one_line(result)
    # The manifest is not parsed; the file's text is still matched like any licence file.
    assert line.startswith(f"{path}\t")


def test_cli_licence_refuses_an_endless_file_in_one_line() -> None:
    result = run("licence", "/dev/zero")
    assert result.exit_code == 2
    assert one_line(result) == "/dev/zero : fichier trop gros, non lu"


# --- a crawl where some repositories carry hostile files ------------------------------------------

QUICK = RetryPolicy(attempts=4, backoff=0.01, max_wait=5, timeout=10)
TOKENS = {"GITHUB_TOKEN": "test-token", "GITLAB_TOKEN": "test-token"}
GITLAB_HOST = "gitlab.mim-libre.fr"


def _pick(dataset: Dataset, host: str, *, publiccode: bool = False, manifest: str = "") -> list:
    found = []
    for repo in dataset.all_repositories(host):
        if repo.visibility != "public":
            continue
        wanted = (publiccode and repo.publiccode_name) or (
            manifest
            and repo.manifest_name == manifest
            and repo.manifest_licence not in (None, "UNLICENSED", "proprietary")
            and repo.licence_file_spdx is None
            and not repo.reuse_spdx
            and (repo.licence is None or host != "github.com")
        )
        if wanted:
            found.append(repo)
    return found


def test_a_crawl_contains_hostile_files_to_their_repository(monkeypatch) -> None:
    dataset = Dataset.load()
    github_pc = _pick(dataset, "github.com", publiccode=True)
    github_mf = _pick(dataset, "github.com", manifest="package.json")
    gitlab_pc = _pick(dataset, GITLAB_HOST, publiccode=True)
    gitlab_mf = _pick(dataset, GITLAB_HOST, manifest="pyproject.toml")
    assert len(github_mf) >= 2 and len(gitlab_pc) >= 2 and len(gitlab_mf) >= 2
    hostile = {
        # publiccode.yml: the issue's 1 kB of brackets on GitHub, an alias bomb on GitLab.
        ("github.com", github_pc[0].full_name): NESTED_YAML,
        (GITLAB_HOST, gitlab_pc[0].full_name): ALIAS_BOMB,
        # manifests that declare a licence, buried under deep nesting.
        ("github.com", github_mf[0].full_name): NESTED_JSON,
        (GITLAB_HOST, gitlab_mf[0].full_name): NESTED_PYPROJECT,
    }
    publiccode_of = forge_content.publiccode
    manifest_of = forge_manifests.manifest

    def publiccode(repo):
        return hostile.get((repo.host, repo.full_name)) or publiccode_of(repo)

    def manifest(repo, name):
        return hostile.get((repo.host, repo.full_name)) or manifest_of(repo, name)

    monkeypatch.setattr(forge_content, "publiccode", publiccode)
    monkeypatch.setattr(forge_manifests, "manifest", manifest)
    owners = sorted({r.owner for r in (github_pc[0], github_mf[0], github_mf[1])})
    with LocalForge(dataset) as forge:
        config = Config(
            "test",
            (
                ForgeConfig(
                    "github.com",
                    "github",
                    forge.api_url("github.com"),
                    tuple(OwnerConfig("github.com", login) for login in owners),
                ),
                ForgeConfig(GITLAB_HOST, "gitlab", forge.api_url(GITLAB_HOST)),
            ),
        )
        db = store.open_db()
        report = crawl(config, db, environ=TOKENS, retry=QUICK)

    assert report.accounts_failed == 0
    assert [f.status for f in report.forges] == ["ok", "ok"]
    assert list(db.query("select * from crawl_errors")) == []
    rows = {r["id"]: r for r in db.query("select * from repositories")}
    files = {r["repository"]: r for r in db.query("select * from publiccode")}

    def rid(repo) -> str:
        return f"{repo.host}/{repo.full_name}".lower()

    for repo, message in ((github_pc[0], "nested deeper"), (gitlab_pc[0], "aliases")):
        assert rows[rid(repo)]["has_publiccode"] == 1
        stored = files[rid(repo)]
        assert stored["valid"] == 0
        errors = json.loads(stored["errors"])
        assert len(errors) == 1 and errors[0]["path"] == "" and message in errors[0]["message"]
    # The other publiccode.yml of the GitLab instance were read as usual.
    for repo in gitlab_pc[1:]:
        assert files[rid(repo)]["valid"] == int(repo.publiccode_variant != "invalid"), rid(repo)
    # A hostile manifest gives no licence; its well-formed neighbours give theirs.
    for repo in (github_mf[0], gitlab_mf[0]):
        assert rows[rid(repo)]["licence_source"] != "manifest", rid(repo)
    for repo in (github_mf[1], gitlab_mf[1]):
        assert rows[rid(repo)]["licence_source"] == "manifest", rid(repo)


# --- SILL: a mostly invalid or hostile export is refused, the tables untouched ---------------

BUNDLED_SILL = Path(__file__).resolve().parents[1] / "sill" / "data" / "sill-2022-05.json"
SILL_TABLES = (
    "sill_software",
    "sill_organisations",
    "sill_instances",
    "sill_service_providers",
    "sill_similar_software",
    "sill_repositories",
)


def _mostly_invalid_export(tmp_path: Path) -> Path:
    """The issue's export: 1 valid entry and 239 invalid ones (an id that is not a number)."""
    entries = json.loads(BUNDLED_SILL.read_text(encoding="utf-8"))
    assert len(entries) == 240
    broken = [entries[0]] + [{**entry, "id": f"x{entry['id']}"} for entry in entries[1:]]
    path = tmp_path / "sill.json"
    path.write_text(json.dumps(broken), encoding="utf-8")
    return path


def _sill_snapshot(db_path: Path) -> dict[str, list[dict]]:
    db = store.open_db(db_path)
    try:
        return {table: list(db.query(f"select * from [{table}]")) for table in SILL_TABLES}
    finally:
        db.close()


@pytest.fixture
def sill_db(tmp_path: Path) -> Path:
    """A database with the bundled SILL loaded (240 programs)."""
    db_path = tmp_path / "inventory.db"
    result = run("sill", "--source", "bundled", "--db", str(db_path))
    assert result.exit_code == 0, result.output
    assert "240 logiciels" in result.output
    return db_path


def test_sill_mostly_invalid_export_is_refused_and_tables_kept(
    tmp_path: Path, sill_db: Path
) -> None:
    before = _sill_snapshot(sill_db)
    assert len(before["sill_software"]) == 240
    source = _mostly_invalid_export(tmp_path)
    result = run("sill", "--source", str(source), "--db", str(sill_db))
    assert result.exit_code == 2
    line = one_line(result)
    assert "export refusé, 239 entrées invalides sur 240" in line
    assert "par exemple entry x2 (Acceleo)" in line and "expected a number" in line
    assert _sill_snapshot(sill_db) == before


def test_sill_half_invalid_export_still_loads(tmp_path: Path) -> None:
    entries = json.loads(BUNDLED_SILL.read_text(encoding="utf-8"))[:10]
    half = entries[:5] + [{**entry, "id": "x"} for entry in entries[5:]]
    source = tmp_path / "sill.json"
    source.write_text(json.dumps(half), encoding="utf-8")
    result = run("sill", "--source", str(source), "--db", str(tmp_path / "inventory.db"))
    assert result.exit_code == 0, result.output
    assert "5 logiciels" in result.output and "5 entrée(s) ignorée(s)" in result.output


@pytest.mark.parametrize(
    "document",
    [
        "[" * 100_000 + "]" * 100_000,
        '[{"id": "1", "i": "x", "st": "R", "y": "2018", "g": "MIMO", "n": '
        + "[" * 5000
        + "]" * 5000
        + "}]",
    ],
)
def test_sill_deeply_nested_json_is_one_line(tmp_path: Path, sill_db: Path, document: str) -> None:
    before = _sill_snapshot(sill_db)
    source = tmp_path / "nested.json"
    source.write_text(document)
    result = run("sill", "--source", str(source), "--db", str(sill_db))
    assert result.exit_code == 2
    assert "nested deeper than 64 levels" in one_line(result)
    assert _sill_snapshot(sill_db) == before


def test_sill_endless_source_is_refused(tmp_path: Path) -> None:
    result = run("sill", "--source", "/dev/zero", "--db", str(tmp_path / "inventory.db"))
    assert result.exit_code == 2
    assert "larger than 64 MiB" in one_line(result)


# --- --db, --config, full disk, read-only folder: one line, the right status --------------------

CONFIG = "github.com:\n  forge: github\n  owners:\n    etalab:\n"


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "organisations.yml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def _other_application_db(path: Path) -> bytes:
    connection = sqlite3.connect(path)
    connection.execute("create table notes (id integer primary key, text text)")
    connection.execute("insert into notes (text) values ('ne pas toucher')")
    connection.commit()
    connection.close()
    return path.read_bytes()


@pytest.mark.parametrize("command", ["sill", "crawl"])
def test_db_that_is_a_text_file_is_refused_untouched(tmp_path: Path, command: str) -> None:
    db_path = tmp_path / "notes.txt"
    db_path.write_text("des notes, pas une base\n" * 10, encoding="utf-8")
    before = db_path.read_bytes()
    args = ["--source", "bundled"] if command == "sill" else ["--config", str(_config(tmp_path))]
    result = run(command, *args, "--db", str(db_path))
    assert result.exit_code == 2
    assert one_line(result) == f"{db_path} : n'est pas une base SQLite ; refusé, rien n'y est écrit"
    assert db_path.read_bytes() == before


@pytest.mark.parametrize("command", ["sill", "crawl"])
def test_another_applications_sqlite_file_is_left_byte_identical(
    tmp_path: Path, command: str
) -> None:
    db_path = tmp_path / "other.db"
    before = _other_application_db(db_path)
    args = ["--source", "bundled"] if command == "sill" else ["--config", str(_config(tmp_path))]
    result = run(command, *args, "--db", str(db_path))
    assert result.exit_code == 2
    assert one_line(result) == (
        f"{db_path} : base SQLite d'une autre application (tables : notes) ; refusé, "
        "rien n'y est écrit"
    )
    assert db_path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("other")) == ["other.db"]


def test_another_applications_id_is_refused(tmp_path: Path) -> None:
    db_path = tmp_path / "other.db"
    connection = sqlite3.connect(db_path)
    connection.execute("pragma application_id = 1234")
    # Even with tables named like ours, another application_id is not ours.
    connection.execute("create table repositories (id text)")
    connection.commit()
    connection.close()
    with pytest.raises(store.NotOurDatabase, match="application_id 0x4d2"):
        store.open_db(db_path)


def test_our_databases_are_marked_and_old_ones_still_open(tmp_path: Path) -> None:
    db_path = tmp_path / "inventory.db"
    db = store.open_db(db_path)
    assert db.execute("pragma application_id").fetchone()[0] == store.APPLICATION_ID
    # A database of ours from before the mark: recognised by its tables, then marked.
    db.execute("pragma application_id = 0")
    db.close()
    db = store.open_db(db_path)
    assert db.execute("pragma application_id").fetchone()[0] == store.APPLICATION_ID
    db.close()
    empty = tmp_path / "empty.db"
    empty.touch()
    store.open_db(empty).close()  # an empty file is ours to fill


@pytest.mark.parametrize("command", [["crawl"], ["orgs", "validate"]])
def test_config_dev_zero_is_one_line(tmp_path: Path, command: list[str]) -> None:
    extra = ["--db", str(tmp_path / "inventory.db")] if command == ["crawl"] else []
    result = run(*command, "--config", "/dev/zero", *extra)
    assert result.exit_code == 2
    assert one_line(result) == ("Configuration invalide : /dev/zero: the file is larger than 2 MiB")
    assert not (tmp_path / "inventory.db").exists()


def test_full_disk_during_sill_load_is_one_line_and_keeps_what_was_stored(
    sill_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _sill_snapshot(sill_db)
    # The same export with descriptions a hundred times longer: the database has to grow.
    entries = json.loads(BUNDLED_SILL.read_text(encoding="utf-8"))
    for entry in entries:
        entry["fr-desc"] = (entry.get("fr-desc") or "x") * 100
    source = tmp_path / "sill-long.json"
    source.write_text(json.dumps(entries), encoding="utf-8")
    open_db = store.open_db

    def full_disk(path):  # SQLite's own SQLITE_FULL: no page may be added
        db = open_db(path)
        pages = db.execute("pragma page_count").fetchone()[0]
        db.execute(f"pragma max_page_count = {pages}")
        return db

    monkeypatch.setattr(store, "open_db", full_disk)
    result = run("sill", "--source", str(source), "--db", str(sill_db))
    assert result.exit_code == 1
    line = one_line(result)
    assert line.startswith(f"{sill_db} : disque plein"), line
    monkeypatch.undo()
    assert _sill_snapshot(sill_db) == before


def test_full_disk_on_the_lock_file_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class NoSpace:
        """``os`` as crawler.lock sees it, on a full disk."""

        def __getattr__(self, name: str):
            return getattr(os, name)

        @staticmethod
        def write(fd: int, data: bytes) -> int:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(crawler.lock, "os", NoSpace())
    db_path = tmp_path / "inventory.db"
    result = run("sill", "--source", "bundled", "--db", str(db_path))
    assert result.exit_code == 1
    assert one_line(result) == f"{db_path} : disque plein"


def test_forbidden_folder_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Root ignores permission bits: the refusal the kernel would give is raised where the lock
    # file is created.
    def forbidden(path: os.PathLike[str], *args: object) -> int:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    monkeypatch.setattr(crawler.lock.os, "open", forbidden)
    db_path = tmp_path / "inventory.db"
    result = run("sill", "--source", "bundled", "--db", str(db_path))
    monkeypatch.undo()
    assert result.exit_code == 2
    assert one_line(result) == f"{db_path}.lock : permission refusée"


# The same, with the kernel's own errors: a read-only bind mount and a 64 kB tmpfs in a user and
# mount namespace (skipped where unshare is not allowed).


def _in_namespace(mount: str, cli: list[str]) -> subprocess.CompletedProcess[str]:
    command = " ".join(shlex.quote(part) for part in [sys.executable, "-m", "crawler", *cli])
    script = f"set -e; {mount}; cd {shlex.quote(str(Path.cwd()))}; exec {command}"
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", f"{mount} && echo mounted"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0 or "mounted" not in probe.stdout:
        pytest.skip(f"no mount namespace here: {probe.stderr.strip()}")
    return subprocess.run(
        ["unshare", "-rm", "sh", "-c", script],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.mark.skipif(shutil.which("unshare") is None, reason="unshare is not installed")
def test_read_only_folder_for_real(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    quoted = shlex.quote(str(folder))
    mount = f"mount --bind {quoted} {quoted} && mount -o remount,bind,ro {quoted}"
    db_path = folder / "inventory.db"
    done = _in_namespace(mount, ["sill", "--source", "bundled", "--db", str(db_path)])
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip() == f"{db_path}.lock : système de fichiers en lecture seule"
    assert done.stdout == ""


@pytest.mark.skipif(shutil.which("unshare") is None, reason="unshare is not installed")
def test_full_disk_for_real(tmp_path: Path) -> None:
    folder = tmp_path / "tiny"
    folder.mkdir()
    mount = f"mount -t tmpfs -o size=64k none {shlex.quote(str(folder))}"
    db_path = folder / "inventory.db"
    done = _in_namespace(mount, ["sill", "--source", "bundled", "--db", str(db_path)])
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{db_path} : disque plein"), done.stderr


def _crawl_config(tmp_path: Path, forge: LocalForge, logins: list[str]) -> Path:
    owners = "".join(f"    {login}:\n" for login in logins)
    path = tmp_path / "organisations.yml"
    path.write_text(
        f"github.com:\n  forge: github\n  api_url: {forge.api_url('github.com')}\n"
        f"  owners:\n{owners}",
        encoding="utf-8",
    )
    return path


def test_full_disk_during_a_crawl_is_one_line_and_keeps_earlier_data(
    tmp_path: Path, localforge: LocalForge, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "test-token")
    sizes = {
        a.login: len(localforge.dataset.repositories("github.com", a.login))
        for a in localforge.dataset.accounts("github.com")
    }
    logins = sorted((login for login, n in sizes.items() if 5 <= n <= 30), key=sizes.__getitem__)
    logins = logins[:2]
    db_path = tmp_path / "inventory.db"
    first = run(
        "crawl",
        "--config",
        str(_crawl_config(tmp_path, localforge, logins[:1])),
        "--db",
        str(db_path),
    )
    assert first.exit_code == 0, first.output
    db = store.open_db(db_path)
    before = list(db.query("select id, last_seen_at from repositories order by id"))
    db.close()
    assert before
    open_db = store.open_db

    def full_disk(path):
        db = open_db(path)
        pages = db.execute("pragma page_count").fetchone()[0]
        db.execute(f"pragma max_page_count = {pages}")
        return db

    monkeypatch.setattr(store, "open_db", full_disk)
    config = _crawl_config(tmp_path, localforge, logins)
    result = run("crawl", "--config", str(config), "--db", str(db_path))
    monkeypatch.undo()
    assert result.exit_code == 1
    assert one_line(result).startswith(f"{db_path} : disque plein")
    # Nothing stored is lost (pages saved before the disk filled up may have refreshed rows).
    db = store.open_db(db_path)
    after = {r["id"]: r for r in db.query("select id, removed_at from repositories")}
    db.close()
    assert {r["id"] for r in before} <= set(after)
    assert all(after[r["id"]]["removed_at"] is None for r in before)


def test_sill_url_body_is_capped_while_streamed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sill_load, "MAX_EXPORT_BYTES", 1024 * 1024)
    sent = []

    def endless(_request):
        def chunks():
            for _ in range(64):  # 64 MiB offered, no Content-Length
                sent.append(1)
                yield b" " * (1024 * 1024)

        return Answer(200, chunks=chunks())

    with (
        HostileServer(endless) as server,
        pytest.raises(sill_load.SillFormatError, match="larger than 1 MiB"),
    ):
        sill_load.load(f"{server.url}/sill.json")
    assert len(sent) < 64


def test_a_huge_flat_publiccode_is_cut_short() -> None:
    # 170,000 list items in 500 kB: refused at the node cap (or the time limit, on a slow
    # machine) instead of the half-minute PyYAML would spend on it.
    started = time.monotonic()
    result = validate(("[" + "x, " * 170_000)[:500_000] + "]")
    assert not result.valid
    (issue,) = result.errors
    assert issue.path == ""
    assert "more than 10000 YAML nodes" in issue.message or "too slow" in issue.message
    assert time.monotonic() - started < 10
