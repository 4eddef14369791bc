"""Typed, path-aware access to one JSON entry: every failure names the field that caused it.

A SILL export is a JSON array of loosely typed objects. The loader reads each entry through
``Fields`` so that a missing or wrongly typed value raises ``EntryError`` with the dotted path of
the field (``softwareExternalData.url``, ``instances[2].organization``), and the entry can be
skipped with a warning that says exactly what was wrong.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

_JSON_TYPES = {
    dict: "an object",
    list: "an array",
    str: "a string",
    bool: "a boolean",
    int: "a number",
    float: "a number",
    type(None): "null",
}

#: Below this, an epoch number is in seconds, not milliseconds (1e11 ms is in March 1973,
#: before any SILL existed). The exports use milliseconds; seconds are accepted out of caution.
_EPOCH_SECONDS_LIMIT = 100_000_000_000


class EntryError(ValueError):
    """One field of an entry is missing or has the wrong type."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"field {field!r}: {problem}")
        self.field = field
        self.problem = problem


def json_type(value: object) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def iso_utc(moment: dt.datetime) -> str:
    """The project's date format: ISO 8601 UTC to the second, as the crawler writes it."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_iso(value: object, field: str) -> str | None:
    """Epoch milliseconds (a number) or an ISO 8601 string, as ISO 8601 UTC text.

    The SILL gives both for the same kind of date: v1 stores dereferencings made before v1.55.2
    as epoch ms and later ones as ISO strings; v2 gives ISO strings everywhere.
    """
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if text.isdigit():
            return to_iso(int(text), field)
        try:
            return iso_utc(dt.datetime.fromisoformat(text))
        except ValueError:
            raise EntryError(field, f"not a date: {value!r}") from None
    if isinstance(value, int | float) and not isinstance(value, bool):
        millis = value * 1000 if abs(value) < _EPOCH_SECONDS_LIMIT else value
        try:
            return iso_utc(dt.datetime.fromtimestamp(millis / 1000, dt.UTC))
        except (OverflowError, OSError, ValueError):
            raise EntryError(field, f"not a date: {value!r}") from None
    raise EntryError(field, f"expected a date (epoch ms or ISO string), got {json_type(value)}")


def blank_to_none(text: str | None) -> str | None:
    if text is None:
        return None
    text = text.strip()
    return text or None


class Fields:
    """A JSON object of an entry, read field by field with type checks.

    Optional readers (``opt_*``) accept an absent key or ``null`` and return ``None`` (or an
    empty tuple); a present value of the wrong type raises ``EntryError``.
    """

    def __init__(self, data: Mapping[str, object], path: str = "") -> None:
        self.data = data
        self.path = path

    def name(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def raw(self, key: str) -> object:
        return self.data.get(key)

    def _wrong(self, key: str, expected: str) -> EntryError:
        return EntryError(self.name(key), f"expected {expected}, got {json_type(self.data[key])}")

    def req_int(self, key: str) -> int:
        if key not in self.data or self.data[key] is None:
            raise EntryError(self.name(key), "missing")
        value = self.opt_int(key)
        assert value is not None
        return value

    def req_str(self, key: str) -> str:
        value = self.opt_str(key)
        if value is None:
            raise EntryError(self.name(key), "missing" if key not in self.data else "empty")
        return value

    def opt_int(self, key: str) -> int | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._wrong(key, "an integer")
        return value

    def opt_str(self, key: str) -> str | None:
        """A string, stripped; an empty string is ``None`` (the exports use ``""`` for none)."""
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._wrong(key, "a string")
        return blank_to_none(value)

    def opt_bool(self, key: str) -> bool | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, bool):
            raise self._wrong(key, "a boolean")
        return value

    def opt_time(self, key: str) -> str | None:
        return to_iso(self.data.get(key), self.name(key))

    def opt_obj(self, key: str) -> Fields | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self._wrong(key, "an object")
        return Fields(value, self.name(key))

    def opt_list(self, key: str) -> Sequence[object]:
        value = self.data.get(key)
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self._wrong(key, "an array")
        return value

    def str_list(self, key: str) -> tuple[str, ...]:
        """An array of strings; blank strings are dropped."""
        out: list[str] = []
        for index, item in enumerate(self.opt_list(key)):
            if not isinstance(item, str):
                raise EntryError(
                    f"{self.name(key)}[{index}]", f"expected a string, got {json_type(item)}"
                )
            if item.strip():
                out.append(item.strip())
        return tuple(out)

    def obj_list(self, key: str) -> list[Fields]:
        out: list[Fields] = []
        for index, item in enumerate(self.opt_list(key)):
            path = f"{self.name(key)}[{index}]"
            if not isinstance(item, dict):
                raise EntryError(path, f"expected an object, got {json_type(item)}")
            out.append(Fields(item, path))
        return out

    def obj_map(self, key: str) -> dict[str, Fields]:
        """An object whose values are objects (``userAndReferentCountByOrganization``)."""
        sub = self.opt_obj(key)
        if sub is None:
            return {}
        out: dict[str, Fields] = {}
        for name, item in sub.data.items():
            if not isinstance(item, dict):
                raise EntryError(sub.name(name), f"expected an object, got {json_type(item)}")
            out[name] = Fields(item, sub.name(name))
        return out

    def localized(self, key: str, lang: str = "fr") -> str | None:
        """A ``LocalizedString``: a plain string, or ``{"fr": …, "en": …}``.

        Args:
            key: the field.
            lang: the language wanted; a plain string counts as any language for ``fr`` and
                as none for the others, and ``fr`` falls back to ``en`` when it is missing.
        """
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            return blank_to_none(value) if lang == "fr" else None
        if not isinstance(value, dict):
            raise self._wrong(key, "a string or a {fr, en} object")
        sub = Fields(value, self.name(key))
        text = sub.opt_str(lang)
        if text is None and lang == "fr":
            text = sub.opt_str("en")
        return text
