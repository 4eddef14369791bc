"""Reading a forge's answers as hostile input: typed field access and header parsing.

An adapter maps each item of a page (a GraphQL node, a GitLab project) through these
accessors; a field that is missing or of the wrong type raises :class:`BadItem`, which the
adapter turns into a skipped item recorded with its place, while the rest of the page is kept.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import math
from typing import Any


class BadItem(Exception):
    """One item of an answer is not in the documented format."""


#: The largest count believed (SQLite stores integers up to 2**63 - 1).
MAX_COUNT = 2**53

_NAMES = {str: "a string", int: "an integer", bool: "a boolean", dict: "an object", list: "a list"}


def field(node: Any, name: str, kind: type, *, required: bool = False) -> Any:
    """``node[name]`` if it is of ``kind`` (``None`` when absent or null, unless required).

    Raises:
        BadItem: ``node`` is not an object, or the field is required and missing, or of
            another type (a boolean is not an integer here).
    """
    if not isinstance(node, dict):
        raise BadItem(f"{_kind(node)} where an object was expected")
    value = node.get(name)
    if value is None:
        if required:
            raise BadItem(f"'{name}' is missing")
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BadItem(f"'{name}' is {_kind(value)}, not {_NAMES.get(kind, kind.__name__)}")
    return value


def obj(node: Any, name: str) -> dict[str, Any]:
    """``node[name]`` as an object, ``{}`` when absent or null."""
    value: dict[str, Any] | None = field(node, name, dict)
    return value or {}


def items(node: Any, name: str) -> list[Any]:
    """``node[name]`` as a list, ``[]`` when absent or null."""
    value: list[Any] | None = field(node, name, list)
    return value or []


def count(node: Any, name: str) -> int:
    """A non-negative integer field, 0 when absent."""
    value: int | None = field(node, name, int)
    if value is not None and not 0 <= value <= MAX_COUNT:
        raise BadItem(f"'{name}' is out of range ({str(value)[:40]})")
    return value or 0


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    name = _NAMES.get(type(value), type(value).__name__)
    if isinstance(value, str):
        return f"{name} ({value[:40]!r})"
    return name


def retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: a number of seconds or an HTTP date
    (RFC 9110); ``None`` for anything else (negative, garbage, not finite). A date in the past
    means no wait."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        now = now or dt.datetime.now(dt.UTC)
        return max(0.0, (moment - now).total_seconds())
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds
