"""The open-data exports of `codegouv publish`: CSV/JSON, Table Schemas, datapackage.json,
validated with frictionless on the demo data."""

from __future__ import annotations

import csv
import json
import shutil
import tracemalloc
from pathlib import Path

import pytest
import sqlite_utils
from _publish_helpers import demo_publication
from frictionless import validate

from crawler import db as store
from crawler import schema
from crawler.publish import datasette, exports, tableschema


@pytest.fixture(scope="module")
def published(demo_run) -> Path:
    """A publication of the demo data, through the real command line: ``codegouv demo --once``'s
    own, made once per run (read-only; tests that change a file work on a copy)."""
    return demo_publication(demo_run)


def test_the_data_package_of_the_demo_validates_with_no_error(published):
    report = validate(published / "data" / "datapackage.json")
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:20]
    assert [task.name for task in report.tasks] == list(tableschema.EXPORTED)
    db = sqlite_utils.Database(published / "inventory.db")
    for task in report.tasks:
        # every row was read and checked, against the published database's count
        assert task.stats["rows"] == db[task.name].count > 0, task.name


def test_a_wrong_value_in_a_row_is_reported(published, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(published / "data", data)
    path = data / "repositories.csv"
    with path.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    rows[3]["stars"] = "many"
    rows[7]["activity"] = "zombie"
    rows[9]["owner"] = "github.com/nobody-at-all"
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    report = validate(data / "datapackage.json", skip_errors=["byte-count", "hash-count"])
    assert not report.valid
    errors = {
        (e[0], e[1], e[2])
        for e in report.flatten(["rowNumber", "fieldName", "type"])
        if e[2] != "byte-count"
    }
    assert (5, "stars", "type-error") in errors
    assert (9, "activity", "constraint-error") in errors
    assert any(row == 11 and kind == "foreign-key" for row, _, kind in errors)


def test_csv_and_json_hold_the_same_rows_with_native_json_types(published):
    data = published / "data"
    db = sqlite_utils.Database(published / "inventory.db")
    repositories = json.loads((data / "repositories.json").read_text(encoding="utf-8"))
    with (data / "repositories.csv").open(encoding="utf-8", newline="") as file:
        table = list(csv.DictReader(file))
    assert len(repositories) == len(table) == db["repositories"].count
    assert [r["id"] for r in repositories] == [r["id"] for r in table]
    first = repositories[0]
    stored = db["repositories"].get(first["id"])
    assert isinstance(first["is_fork"], bool) and first["is_fork"] == bool(stored["is_fork"])
    assert first["topics"] == json.loads(stored["topics"])
    assert list(first) == list(schema.REPOSITORIES.column_names) == list(table[0])
    empty = next(r for r in repositories if r["homepage"] is None)
    assert next(r for r in table if r["id"] == empty["id"])["homepage"] == ""
    for name in tableschema.EXPORTED:
        assert (
            len(json.loads((data / f"{name}.json").read_text(encoding="utf-8"))) == db[name].count
        )


def test_schemas_are_in_the_schema_data_gouv_fr_shape_and_follow_the_declarations(published):
    data = published / "data"
    package = json.loads((data / "datapackage.json").read_text(encoding="utf-8"))
    assert package["licenses"][0]["name"] == "etalab-2.0"
    assert [r["path"] for r in package["resources"]] == [f"{n}.csv" for n in tableschema.EXPORTED]
    meta = datasette.metadata("inventory")["databases"]["inventory"]["tables"]
    for name in tableschema.EXPORTED:
        document = json.loads((data / f"{name}.schema.json").read_text(encoding="utf-8"))
        for key in ("name", "title", "description", "version", "contributors", "homepage"):
            assert document[key], (name, key)
        assert document["licenses"][0]["name"] == "etalab-2.0"
        declared = schema.table(name)
        assert [f["name"] for f in document["fields"]] == list(declared.column_names)
        for item in document["fields"]:
            assert (item["title"] and item["title"] != item["name"]) or item["name"] == "licence"
            # one source: the Datasette column descriptions are the schema's
            assert item["description"] == meta[name]["columns"][item["name"]]
        assert document["primaryKey"]
    repositories = json.loads((data / "repositories.schema.json").read_text(encoding="utf-8"))
    fields = {f["name"]: f for f in repositories["fields"]}
    assert fields["id"]["constraints"] == {"required": True, "unique": True}
    assert fields["activity"]["constraints"]["enum"] == [
        "active",
        "dormant",
        "inactive",
        "archived",
    ]
    assert fields["licence_source"]["constraints"]["enum"] == [
        "forge",
        "detected",
        "manifest",
        "readme",
    ]
    assert fields["created_at"]["type"] == "datetime"
    assert fields["is_fork"]["type"] == "boolean" and fields["is_fork"]["trueValues"] == ["1"]
    assert fields["topics"]["type"] == "array"
    assert {"fields": "owner", "reference": {"resource": "owners", "fields": "id"}} in (
        repositories["foreignKeys"]
    )
    owners = json.loads((data / "owners.schema.json").read_text(encoding="utf-8"))
    kind = next(f for f in owners["fields"] if f["name"] == "kind")
    assert kind["constraints"]["enum"] == ["organization", "user", "group"]


def test_the_dataset_readme_is_in_french_and_lists_every_file(published):
    text = (published / "data" / "README.md").read_text(encoding="utf-8")
    assert "Licence Ouverte" in text and "etalab-2.0" in text
    for name in tableschema.EXPORTED:
        assert f"`{name}.csv`" in text and f"`{name}.schema.json`" in text


def test_rows_are_streamed_not_held_in_memory(tmp_path):
    db = store.open_db()
    db["forges"].insert({"host": "github.com", "kind": "github"})
    db["owners"].insert({"id": "github.com/a", "forge": "github.com", "login": "a"})
    description = "x" * 500
    db["repositories"].insert_all(
        (
            {
                "id": f"github.com/a/r{i}",
                "url": f"https://github.com/a/r{i}",
                "forge": "github.com",
                "owner": "github.com/a",
                "name": f"r{i}",
                "description": description,
                "topics": '["a", "b"]',
            }
            for i in range(20_000)
        ),
        batch_size=2000,
    )
    tracemalloc.start()
    try:
        export = exports.write_table(db, schema.REPOSITORIES, tmp_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert export.rows == 20_000
    # 20,000 rows of 500+ bytes are over 10 MB: held in memory, the peak would show it
    assert export.csv.stat().st_size > 10_000_000
    assert peak < 2_000_000, peak
