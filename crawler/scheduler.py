"""APScheduler wiring around the jobs: the chain crawl → SILL → publish on cron, nothing else.

Two jobs share one single-thread executor, so they never overlap in this process: ``chain``
(crawl → SILL → publish, daily at night by default) and ``sill`` (SILL → publish, every six
hours). Across processes, a chain holds ``<db>.chain.lock`` from its first step to its last: a
``codegouv schedule --once`` started while the daemon runs a chain says so and exits.

Misfires are coalesced (a daemon that was asleep runs a missed chain once, not once per missed
slot). A step that fails stops its chain; the previous publication stays in place, and the chain
runs again at its next slot. SIGTERM/SIGINT set ``stop``: the step in progress ends at its next
safe point (a crawl after the page it is saving, its cursors kept, so the next run resumes
there), the steps after it are skipped, and the daemon exits 0.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler import jobs
from crawler.lock import AlreadyRunning, exclusive

if TYPE_CHECKING:
    from apscheduler.events import JobExecutionEvent
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.cron import CronTrigger

log = logging.getLogger(__name__)

DEFAULT_SCHEDULE_PATH = Path("config/schedule.yml")


class ScheduleError(ValueError):
    """The schedule file is unreadable or holds an invalid cron expression."""


@dataclass(frozen=True)
class Schedule:
    """When each job runs (five-field cron expressions, in ``timezone``)."""

    chain: str = "30 2 * * *"
    """crawl → SILL → publish."""
    sill: str = "0 */6 * * *"
    """SILL → publish."""
    timezone: str = "Europe/Paris"

    def triggers(self) -> dict[str, CronTrigger]:
        # APScheduler is imported where a schedule is read or run: the rest of the command
        # line (``codegouv --help`` shows DEFAULT_SCHEDULE_PATH) does without it.
        from apscheduler.triggers.cron import CronTrigger

        return {
            "chain": CronTrigger.from_crontab(self.chain, timezone=self.timezone),
            "sill": CronTrigger.from_crontab(self.sill, timezone=self.timezone),
        }


def load_schedule(path: Path) -> Schedule:
    """Read ``path`` (a missing file gives the defaults); raise ``ScheduleError`` naming the
    file, the line and the key of a mistake."""
    if not path.exists():
        return Schedule()
    import yaml

    try:
        text = path.read_text(encoding="utf-8")[:65536]
        node = yaml.compose(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ScheduleError(f"{path}: illisible : {error}") from None
    if node is None:
        return Schedule()
    if not isinstance(node, yaml.MappingNode):
        raise ScheduleError(f"{path}:{node.start_mark.line + 1}: un dictionnaire est attendu")
    values: dict[str, str] = {}
    known = {"chain", "sill", "timezone"}
    for key, value in node.value:
        where = f"{path}:{key.start_mark.line + 1}"
        name = key.value if isinstance(key, yaml.ScalarNode) else "?"
        if name not in known:
            raise ScheduleError(f"{where}: clé inconnue « {name} » (attendu : {', '.join(known)})")
        if not isinstance(value, yaml.ScalarNode) or not str(value.value).strip():
            raise ScheduleError(f"{where}: « {name} » doit être un texte")
        values[name] = str(value.value).strip()
        try:
            Schedule(**values).triggers()
        except (ValueError, LookupError) as error:
            raise ScheduleError(f"{where}: « {name} » invalide : {error}") from None
    return Schedule(**values)


Step = Callable[[threading.Event], Any]
"""A step of a chain; it receives the stop event and ends early, in a resumable state, when set."""


@dataclass
class ChainResult:
    name: str
    started_at: str
    finished_at: str = ""
    status: str = "running"
    """ok | failed | stopped | busy (another chain held the lock)."""
    steps: list[dict[str, Any]] = field(default_factory=list)


class Chain:
    """Steps run in order under one lock; the first failure ends the chain."""

    def __init__(self, name: str, steps: Sequence[tuple[str, Step]], lock_path: Path) -> None:
        self.name = name
        self.steps = list(steps)
        self.lock_path = lock_path

    def run(self, stop: threading.Event) -> ChainResult:
        result = ChainResult(self.name, _now())
        try:
            with _chain_lock(self.lock_path):
                log.info("chain started", extra={"event": "chain_started", "chain": self.name})
                result.status = self._steps(stop, result)
        except AlreadyRunning as error:
            result.status = "busy"
            log.warning(
                "chain skipped: %s",
                error,
                extra={"event": "chain_busy", "chain": self.name},
            )
        result.finished_at = _now()
        log.info(
            "chain %s",
            result.status,
            extra={"event": "chain_finished", "chain": self.name, "status": result.status},
        )
        return result

    def _steps(self, stop: threading.Event, result: ChainResult) -> str:
        for step_name, step in self.steps:
            if stop.is_set():
                return "stopped"
            started = time.monotonic()
            log.info(
                "step started",
                extra={"event": "step_started", "chain": self.name, "step": step_name},
            )
            try:
                outcome = step(stop)
            # A step's failure is logged and ends the chain; the daemon must go on to the
            # next slot whatever the step raised.
            except Exception as error:  # noqa: BLE001
                seconds = round(time.monotonic() - started, 3)
                result.steps.append({"step": step_name, "status": "failed", "seconds": seconds})
                log.error(
                    "step failed: %s: %s",
                    type(error).__name__,
                    error,
                    extra={
                        "event": "step_failed",
                        "chain": self.name,
                        "step": step_name,
                        "seconds": seconds,
                    },
                )
                return "failed"
            seconds = round(time.monotonic() - started, 3)
            status = "stopped" if stop.is_set() else "ok"
            result.steps.append({"step": step_name, "status": status, "seconds": seconds})
            log.info(
                "step %s",
                status,
                extra={
                    "event": "step_finished",
                    "chain": self.name,
                    "step": step_name,
                    "status": status,
                    "seconds": seconds,
                    "outcome": _summary(outcome),
                },
            )
            if status == "stopped":
                return "stopped"
        return "ok"


def inventory_chains(
    config_path: Path, db_path: Path, out_dir: Path, sill_source: str
) -> dict[str, Chain]:
    """The two chains of the inventory, on the steps of ``crawler.jobs``. The accounts file is
    read again at each run, so an account added during the day is crawled the next night."""

    def crawl(stop: threading.Event) -> Any:
        from crawler.config import ConfigError, load_config

        try:
            config = load_config(config_path)
        except ConfigError as error:
            raise RuntimeError(f"{config_path}: configuration invalide: {error}") from None
        return jobs.crawl(config, db_path, stop=stop)

    def sill(stop: threading.Event) -> Any:
        return jobs.sill(db_path, sill_source)

    def publish(stop: threading.Event) -> Any:
        return jobs.publish(db_path, out_dir)

    lock = db_path.with_name(db_path.name + ".chain")
    return {
        "chain": Chain("chain", [("crawl", crawl), ("sill", sill), ("publish", publish)], lock),
        "sill": Chain("sill", [("sill", sill), ("publish", publish)], lock),
    }


def build(
    schedule: Schedule, chains: dict[str, Chain], stop: threading.Event
) -> BackgroundScheduler:
    """A scheduler (not started) with one job per chain, on one thread so chains never overlap."""
    from apscheduler.events import EVENT_JOB_MISSED
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            # However late (a server asleep for days), a missed slot still runs, once.
            "misfire_grace_time": None,
        },
        timezone=schedule.timezone,
    )
    triggers = schedule.triggers()
    for name, chain in chains.items():
        scheduler.add_job(
            chain.run, triggers[name], args=(stop,), id=name, name=name, replace_existing=True
        )
    scheduler.add_listener(_on_missed, EVENT_JOB_MISSED)
    return scheduler


def next_runs(schedule: Schedule, now: dt.datetime, count: int = 1) -> dict[str, list[dt.datetime]]:
    """The next ``count`` fire times of each job after ``now`` (for ``--list`` and tests)."""
    runs: dict[str, list[dt.datetime]] = {}
    for name, trigger in schedule.triggers().items():
        times: list[dt.datetime] = []
        previous: dt.datetime | None = None
        current = now
        for _ in range(count):
            fire = trigger.get_next_fire_time(previous, current)
            if fire is None:
                break
            times.append(fire)
            previous, current = fire, fire + dt.timedelta(seconds=1)
        runs[name] = times
    return runs


def run_forever(scheduler: BackgroundScheduler, stop: threading.Event) -> None:
    """Run until ``stop`` is set (by a signal handler), then let the step in progress reach its
    safe point and shut down."""
    scheduler.start()
    log.info("scheduler started", extra={"event": "scheduler_started", "jobs": _jobs(scheduler)})
    while not stop.wait(1.0):
        pass
    log.info("stopping: waiting for the step in progress", extra={"event": "scheduler_stopping"})
    scheduler.shutdown(wait=True)
    log.info("scheduler stopped", extra={"event": "scheduler_stopped"})


def _jobs(scheduler: BackgroundScheduler) -> list[dict[str, str]]:
    return [
        {"job": job.id, "next_run": job.next_run_time.isoformat() if job.next_run_time else ""}
        for job in scheduler.get_jobs()
    ]


def _on_missed(event: JobExecutionEvent) -> None:
    log.warning(
        "run of %s missed at %s",
        event.job_id,
        event.scheduled_run_time,
        extra={"event": "job_missed", "chain": event.job_id},
    )


@contextmanager
def _chain_lock(path: Path) -> Iterator[None]:
    try:
        with exclusive(path):
            yield
    except AlreadyRunning:
        raise AlreadyRunning(
            f"une autre chaîne (parcours → SILL → publication) est en cours ({path}.lock)"
        ) from None


def _summary(outcome: Any) -> Any:
    """What a step returned, reduced to JSON-friendly scalars for the log line."""
    if outcome is None:
        return None
    if isinstance(outcome, int | float | str | bool):
        return outcome
    fields = getattr(outcome, "__dataclass_fields__", None)
    if fields:
        return {
            name: getattr(outcome, name)
            for name in fields
            if isinstance(getattr(outcome, name), int | float | str | bool)
        }
    return str(outcome)


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class JsonLines(logging.Formatter):
    """One JSON object per log record: time, level, logger, message and the record's extras."""

    _STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
        "message",
        "asctime",
    }

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in self._STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)
