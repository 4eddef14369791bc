"""Load a SILL export — URL, file or bytes — in whichever shape it comes, into records.

The SILL changed shape several times; ``detect_shape`` tells them apart by keys that only one
shape has (``sill/data/sill-export-formats.md`` lists every field per shape):

- ``2022``: etalab/sill-contents' ``sill.json``: short keys (``i`` for the name, ``st`` for the
  status, ``y`` for the years), every value a string;
- ``v2``: ``/api/v2/catalogi.json`` (2026-03 on): ``addedTime``, ``similarSoftwares``,
  ``applicationCategories`` at the top level;
- ``v1``: ``/sill/api/sill.json`` = ``catalogi.json``: ``referencedSinceTime`` and
  ``customAttributes`` (2025-10 on), ``operatingSystems``/``runtimePlatforms`` (2026-03 on) or
  external data keyed by ``sourceSlug`` (2025-05 on);
- ``2023-2024``: the sill-api export of 2023-03 to 2025-03: ``referencedSinceTime`` without any
  of the v1 markers (``softwareType``, ``comptoirDuLibreSoftware``, ``wikidataSoftware``…).

Each entry is read on its own: one with a missing or wrongly typed field is skipped with a
warning naming its id and the field, and the rest loads. A document that is not a SILL export
at all raises ``SillFormatError``; the caller then keeps its previous tables, and refuses an
export of which more than half the entries are invalid (``check_mostly_valid``): loading its few
valid ones would mark every other program as removed. The document is hostile input too: its
size and nesting are capped before it is parsed.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from crawler.licences.bounded import ParseError, json_depth, read_capped
from sill._fields import EntryError, json_type
from sill.models import SillExport, SillSimilarSoftware, Software
from sill.shapes import Parsed, parse_2022, parse_v1, parse_v2

# The sources, defined here before ``sill.sources`` held them, still importable from here.
from sill.sources import (  # noqa: F401
    BUNDLED_2022,
    BUNDLED_V2_EXTRACT,
    DATA_DIR,
    OFFLINE_SOURCE,
    SILL_CATALOGI_URL,
    SILL_URL,
    SILL_V2_URL,
)

log = logging.getLogger(__name__)

#: Sent with every request, as the crawler does, so that code.gouv.fr knows who fetches.
USER_AGENT = "codegouv-inventory/0.1 (+https://code.gouv.fr/fr/bluehats/)"
#: Seconds to connect, and to wait for the (memoised, a few MB) export.
TIMEOUT = (10.0, 60.0)

#: The v1 export is a few MB; anything beyond this is not read.
MAX_EXPORT_BYTES = 64 * 1024 * 1024
#: A SILL entry nests a handful of levels; deeper JSON is refused before it is parsed.
MAX_DEPTH = 64

Fetch = Callable[[str], bytes]

_V2_KEYS = frozenset({"addedTime", "similarSoftwares", "applicationCategories"})
_V1_KEYS = frozenset({"customAttributes", "operatingSystems", "runtimePlatforms"})
_CATALOGI_KEYS = frozenset(
    {"referencedSinceTime", "userAndReferentCountByOrganization", "similarExternalSoftwares"}
)
_KEYS_2022 = frozenset({"i", "st", "y", "v-", "g"})
_PARSERS: Mapping[str, Callable[[dict[str, object]], Parsed]] = {
    "v1": parse_v1,
    "2023-2024": parse_v1,
    "v2": parse_v2,
    "2022": parse_2022,
}


class SillError(Exception):
    """The SILL could not be loaded; the previous SILL tables must be kept."""


class SillSourceError(SillError):
    """The source could not be read: network failure, HTTP error, missing file."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class SillFormatError(SillError, ValueError):
    """The document is not a SILL export (HTML page, other JSON, empty list…)."""


def fetch_url(url: str) -> bytes:
    """GET an export over HTTPS (plain HTTP only on loopback, as for the forges)."""
    parts = urlsplit(url)
    if parts.scheme == "http" and not _is_loopback(parts.hostname or ""):
        raise SillSourceError(f"{url}: plain http refused, use https")
    # Imported here: a bundled copy or a file is read without loading requests.
    import requests

    try:
        with requests.get(
            url,
            timeout=TIMEOUT,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            stream=True,
        ) as response:
            if response.status_code != 200:
                raise SillSourceError(
                    f"{url}: HTTP {response.status_code} {response.reason}", response.status_code
                )
            body = bytearray()
            for chunk in response.iter_content(chunk_size=1024 * 1024):
                body += chunk
                if len(body) > MAX_EXPORT_BYTES:
                    raise SillFormatError(
                        f"{url}: not a SILL export: larger than "
                        f"{MAX_EXPORT_BYTES // (1024 * 1024)} MiB"
                    )
    except requests.RequestException as exc:
        raise SillSourceError(f"{url}: {exc}") from exc
    return bytes(body)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load(source: str | Path | bytes, *, fetch: Fetch = fetch_url) -> SillExport:
    """Read a SILL export and return its records, with the shape that was detected.

    Args:
        source: an ``http(s)://`` URL, a file path, or the document itself as bytes.
        fetch: how a URL is read (tests inject their own).

    Raises:
        SillSourceError: the URL or file could not be read.
        SillFormatError: the document is not a SILL export.
    """
    if isinstance(source, bytes):
        label, data = "<bytes>", source
    elif isinstance(source, str) and "://" in source:
        label = source
        if urlsplit(source).scheme not in ("http", "https"):
            raise SillSourceError(f"{source}: only http(s) URLs or files can be read")
        data = fetch(source)
    else:
        label = str(source)
        try:
            data = read_capped(source, MAX_EXPORT_BYTES)
        except OSError as exc:
            raise SillSourceError(f"{label}: cannot read: {exc.strerror or exc}") from exc
        except ParseError as exc:
            raise SillFormatError(f"{label}: not a SILL export: {exc}") from None
    return parse(data, source=label)


def parse(data: bytes, *, source: str = "<bytes>") -> SillExport:
    """The records of an export already read (``load`` for bytes)."""
    document = _decode(data, source)
    shape = detect_shape(document, source=source)
    assert isinstance(document, list)
    parser = _PARSERS[shape]
    parsed: list[Parsed] = []
    warnings: list[str] = []
    seen: set[int] = set()
    for index, item in enumerate(document):
        where = _describe(item, index)
        if not isinstance(item, dict):
            warnings.append(f"{where}: skipped: expected an object, got {json_type(item)}")
            continue
        try:
            result = parser(item)
        except EntryError as exc:
            warnings.append(f"{where}: skipped: {exc}")
            continue
        if result.software.id in seen:
            warnings.append(f"{where}: skipped: duplicate id {result.software.id}")
            continue
        seen.add(result.software.id)
        parsed.append(result)
    for warning in warnings:
        log.warning("SILL %s: %s", source, warning)
    if not parsed:
        raise SillFormatError(
            f"{source}: no SILL entry could be read ({len(warnings)} skipped"
            + (f"; first: {warnings[0]}" if warnings else "")
            + ")"
        )
    export = SillExport(
        shape=shape,
        source=source,
        software=tuple(p.software for p in parsed),
        organisations=tuple(o for p in parsed for o in p.organisations),
        instances=tuple(i for p in parsed for i in p.instances),
        providers=tuple(s for p in parsed for s in p.providers),
        similar=_resolve_similar([s for p in parsed for s in p.similar], parsed),
        warnings=tuple(warnings),
        skipped=len(warnings),
    )
    log.info(
        "SILL %s: %s export, %d software loaded, %d skipped",
        source,
        shape,
        len(export.software),
        export.skipped,
    )
    return export


def check_mostly_valid(export: SillExport) -> None:
    """Refuse an export of which more than half the entries were skipped as invalid.

    Loading its few valid entries would mark every other program as removed: a broken export
    (a format change upstream, a truncated file) must leave the stored SILL as it was.

    Raises:
        SillFormatError: naming how many entries were invalid, with the first as an example.
    """
    total = len(export.software) + export.skipped
    if export.skipped * 2 > total:
        example = f" (par exemple {export.warnings[0]})" if export.warnings else ""
        raise SillFormatError(
            f"{export.source} : export refusé, {export.skipped} entrées invalides sur {total}"
            f"{example} ; les tables du SILL restent telles quelles"
        )


def _describe(item: object, index: int) -> str:
    """How a warning names an entry: its id and name when it has them, else its position."""
    if isinstance(item, dict):
        entry_id = item.get("id")
        name = item.get("name", item.get("i"))
        if isinstance(entry_id, int | str) and not isinstance(entry_id, bool):
            return f"entry {entry_id}" + (f" ({name})" if isinstance(name, str) else "")
    return f"entry #{index + 1} (no id)"


def _decode(data: bytes, source: str) -> object:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SillFormatError(f"{source}: not a SILL export: not UTF-8 text") from None
    stripped = text.lstrip()
    if not stripped:
        raise SillFormatError(f"{source}: not a SILL export: the document is empty")
    if stripped.startswith("<"):
        raise SillFormatError(f"{source}: not a SILL export: an HTML or XML page, not JSON")
    if json_depth(text, MAX_DEPTH) > MAX_DEPTH:
        raise SillFormatError(f"{source}: not a SILL export: nested deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SillFormatError(
            f"{source}: not a SILL export: invalid JSON ({exc.msg} at line {exc.lineno}, "
            f"column {exc.colno})"
        ) from None
    except (ValueError, RecursionError) as exc:  # an integer of 5,000 digits; the last resort
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:200]
        raise SillFormatError(f"{source}: not a SILL export: {reason}") from None


def detect_shape(document: object, *, source: str = "<document>") -> str:
    """Which SILL export shape a parsed JSON document is: ``v1``, ``v2``, ``2023-2024`` or
    ``2022``.

    Every object of the array votes (a few broken entries do not change the verdict).

    Raises:
        SillFormatError: the document is not a SILL export.
    """
    if isinstance(document, dict):
        if "catalog" in document and "services" in document:
            raise SillFormatError(
                f"{source}: the 2022 sill-api export ({{catalog, services}}) is not supported; "
                f"use {SILL_URL} or the 2022 etalab sill.json"
            )
        keys = ", ".join(sorted(document)[:8])
        raise SillFormatError(
            f"{source}: not a SILL export: a JSON object (keys: {keys or 'none'}), "
            "where an export is an array of software"
        )
    if not isinstance(document, list):
        raise SillFormatError(f"{source}: not a SILL export: {json_type(document)}, not an array")
    if not document:
        raise SillFormatError(f"{source}: not a SILL export: an empty list")
    votes: Counter[str] = Counter()
    for item in document:
        if isinstance(item, dict):
            shape = _shape_of(item)
            if shape is not None:
                votes[shape] += 1
    if not votes:
        objects = [item for item in document if isinstance(item, dict)]
        if not objects:
            raise SillFormatError(
                f"{source}: not a SILL export: an array of {_kinds(document)}, not of software"
            )
        seen = sorted({key for item in objects[:20] for key in item})[:8]
        raise SillFormatError(
            f"{source}: not a SILL export: no SILL fields in its objects "
            f"(keys seen: {', '.join(seen) or 'none'})"
        )
    return votes.most_common(1)[0][0]


def _kinds(items: Sequence[object]) -> str:
    return ", ".join(sorted({json_type(item).split()[-1] + "s" for item in items}))


def _shape_of(item: Mapping[str, object]) -> str | None:
    found = frozenset(item)
    if "i" in found and len(found & _KEYS_2022) >= 3:
        return "2022"
    if found & _V2_KEYS:
        return "v2"
    if not found & _CATALOGI_KEYS:
        return None
    external = item.get("softwareExternalData")
    if found & _V1_KEYS or (isinstance(external, dict) and "sourceSlug" in external):
        return "v1"
    return "2023-2024"


def _resolve_similar(
    similar: list[SillSimilarSoftware], parsed: list[Parsed]
) -> tuple[SillSimilarSoftware, ...]:
    """Tell which similar software are in the SILL themselves, when the export does not say.

    v2 says it (``isInCatalogi``, ``softwareId``); v1 and 2023–2024 give a Wikidata id, looked
    up among the loaded entries; 2022 gives SILL ids, whose names are filled in here, or bare
    names, left undecided (``None``).
    """
    by_id = {p.software.id: p.software for p in parsed}
    by_wikidata = {p.software.wikidata_id: p.software.id for p in parsed if p.software.wikidata_id}
    return tuple(_resolved(item, by_id, by_wikidata) for item in similar)


def _resolved(
    item: SillSimilarSoftware, by_id: Mapping[int, Software], by_wikidata: Mapping[str, int]
) -> SillSimilarSoftware:
    if item.sill_id is not None:
        known = by_id.get(item.sill_id)
        if item.name is None and known is not None:
            item = replace(item, name=known.name, wikidata_id=known.wikidata_id)
        return item if item.is_in_sill is not None else replace(item, is_in_sill=True)
    same = by_wikidata.get(item.wikidata_id) if item.wikidata_id else None
    if item.is_in_sill is not False and same is not None:
        return replace(item, is_in_sill=True, sill_id=same)
    if item.is_in_sill is None and item.external_id is not None:
        return replace(item, is_in_sill=False)
    return item
