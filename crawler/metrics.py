"""Pure functions on repositories: activity status (and, later, the reusability score)."""

from __future__ import annotations

import datetime as dt

#: A repository with a commit or a push this recent is active.
ACTIVE_WITHIN = dt.timedelta(days=183)  # 6 months
#: Older than ACTIVE_WITHIN but this recent: dormant; older still: inactive.
DORMANT_WITHIN = dt.timedelta(days=730)  # 24 months

ACTIVITIES = ("active", "dormant", "inactive", "archived")


def activity_cutoffs(now: dt.datetime) -> tuple[str, str]:
    """The ISO 8601 UTC dates since which a repository is active, and dormant."""

    def iso(moment: dt.datetime) -> str:
        return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    return iso(now - ACTIVE_WITHIN), iso(now - DORMANT_WITHIN)


def activity(
    is_archived: bool, last_commit_at: str | None, pushed_at: str | None, now: dt.datetime
) -> str | None:
    """``archived`` for an archived repository; else by its latest commit or push:
    ``active``, ``dormant`` or ``inactive``; ``None`` when neither date is known."""
    if is_archived:
        return "archived"
    latest = max((d for d in (last_commit_at, pushed_at) if d), default=None)
    if latest is None:
        return None
    active_since, dormant_since = activity_cutoffs(now)
    if latest >= active_since:  # ISO 8601 UTC text sorts as time does
        return "active"
    return "dormant" if latest >= dormant_since else "inactive"
