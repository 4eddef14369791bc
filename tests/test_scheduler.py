from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from crawler.scheduler import (
    Chain,
    JsonLines,
    Schedule,
    ScheduleError,
    build,
    load_schedule,
    next_runs,
)

PARIS = ZoneInfo("Europe/Paris")


def test_default_schedule_fires_nightly_chain_and_sill_every_six_hours() -> None:
    now = dt.datetime(2026, 11, 29, 23, 10, tzinfo=PARIS)
    runs = next_runs(Schedule(), now, count=3)
    assert [t.strftime("%d %H:%M") for t in runs["chain"]] == ["30 02:30", "01 02:30", "02 02:30"]
    assert [t.strftime("%d %H:%M") for t in runs["sill"]] == ["30 00:00", "30 06:00", "30 12:00"]


def test_bundled_schedule_file_is_valid_and_matches_defaults() -> None:
    assert load_schedule(Path("config/schedule.yml")) == Schedule()


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    assert load_schedule(tmp_path / "none.yml") == Schedule()


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        ('chain: "30 2 * *"\n', ":1:", "chain"),
        ('sill: "0 */6 * * *"\nchain: "61 2 * * *"\n', ":2:", "chain"),
        ('chaine: "30 2 * * *"\n', ":1:", "inconnue"),
        ('timezone: "Mars/Olympus"\n', ":1:", "timezone"),
        ("- a\n", ":1:", "dictionnaire"),
    ],
)
def test_bad_schedule_names_file_line_and_key(
    tmp_path: Path, text: str, where: str, what: str
) -> None:
    path = tmp_path / "schedule.yml"
    path.write_text(text)
    with pytest.raises(ScheduleError) as caught:
        load_schedule(path)
    assert f"{path}{where}" in str(caught.value)
    assert what in str(caught.value)


def _recording_step(name: str, log: list[str], seconds: float = 0.0):
    def step(stop: threading.Event) -> str:
        log.append(f"{name}:start")
        time.sleep(seconds)
        log.append(f"{name}:end")
        return name

    return step


def test_chain_runs_steps_in_order(tmp_path: Path) -> None:
    log: list[str] = []
    chain = Chain(
        "chain",
        [(n, _recording_step(n, log)) for n in ("crawl", "sill", "publish")],
        tmp_path / "db.chain",
    )
    result = chain.run(threading.Event())
    assert result.status == "ok"
    assert log == [
        "crawl:start",
        "crawl:end",
        "sill:start",
        "sill:end",
        "publish:start",
        "publish:end",
    ]
    assert [s["step"] for s in result.steps] == ["crawl", "sill", "publish"]


def test_a_failing_step_ends_the_chain_before_publish(tmp_path: Path) -> None:
    log: list[str] = []

    def broken(stop: threading.Event) -> None:
        raise RuntimeError("forge exploded")

    chain = Chain(
        "chain",
        [("crawl", broken), ("publish", _recording_step("publish", log))],
        tmp_path / "db.chain",
    )
    result = chain.run(threading.Event())
    assert result.status == "failed"
    assert log == []  # the previous publication is left alone


def test_stop_skips_the_steps_after_the_one_in_progress(tmp_path: Path) -> None:
    log: list[str] = []
    stop = threading.Event()

    def crawl(event: threading.Event) -> None:
        log.append("crawl")
        stop.set()  # SIGTERM arrives during the crawl

    chain = Chain(
        "chain", [("crawl", crawl), ("publish", _recording_step("publish", log))], tmp_path / "c"
    )
    assert chain.run(stop).status == "stopped"
    assert log == ["crawl"]


def test_a_second_chain_on_the_same_database_is_refused_while_one_runs(tmp_path: Path) -> None:
    log: list[str] = []
    lock = tmp_path / "db.chain"
    slow = Chain("chain", [("crawl", _recording_step("slow", log, 0.5))], lock)
    other = Chain("sill", [("sill", _recording_step("other", log))], lock)
    thread = threading.Thread(target=slow.run, args=(threading.Event(),))
    thread.start()
    time.sleep(0.2)
    assert other.run(threading.Event()).status == "busy"
    thread.join()
    assert log == ["slow:start", "slow:end"]
    assert other.run(threading.Event()).status == "ok"  # the lock is released afterwards


def test_scheduler_fires_both_jobs_one_at_a_time(tmp_path: Path) -> None:
    log: list[str] = []
    running = threading.Semaphore(1)
    overlaps: list[str] = []

    def step(name: str):
        def run(stop: threading.Event) -> None:
            if not running.acquire(blocking=False):
                overlaps.append(name)
                return
            try:
                log.append(f"{name}:start")
                time.sleep(0.3)
                log.append(f"{name}:end")
            finally:
                running.release()

        return run

    lock = tmp_path / "db.chain"
    chains = {
        "chain": Chain("chain", [("crawl", step("crawl")), ("publish", step("publish"))], lock),
        "sill": Chain("sill", [("sill", step("sill"))], lock),
    }
    stop = threading.Event()
    scheduler = build(Schedule(), chains, stop)
    scheduler.start(paused=True)
    try:
        # APScheduler's own control of time: make both slots due now.
        now = dt.datetime.now(PARIS)
        scheduler.modify_job("chain", next_run_time=now)
        scheduler.modify_job("sill", next_run_time=now)
        scheduler.resume()
        deadline = time.monotonic() + 10
        while len([e for e in log if e.endswith(":end")]) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        # after running, each job waits for its next cron slot again
        later = {job.id: job.next_run_time for job in scheduler.get_jobs()}
    finally:
        scheduler.shutdown(wait=True)
    assert set(later) == {"chain", "sill"}
    assert all(t is not None and t > now for t in later.values())
    assert overlaps == []
    ends = [e for e in log if e.endswith(":end")]
    assert sorted(ends) == ["crawl:end", "publish:end", "sill:end"]
    assert log.index("crawl:end") < log.index("publish:start")


def test_missed_slots_are_coalesced_into_one_run(tmp_path: Path) -> None:
    runs: list[int] = []
    chains = {
        "chain": Chain("chain", [("crawl", lambda stop: runs.append(1))], tmp_path / "c"),
        "sill": Chain("sill", [("sill", lambda stop: None)], tmp_path / "c"),
    }
    scheduler = build(Schedule(), chains, threading.Event())
    scheduler.start(paused=True)
    try:
        job = scheduler.get_job("chain")
        assert job.coalesce is True
        assert job.max_instances == 1
        # The daemon slept through three nights: one run, not three.
        scheduler.modify_job("chain", next_run_time=dt.datetime.now(PARIS) - dt.timedelta(days=3))
        scheduler.resume()
        time.sleep(1.0)
    finally:
        scheduler.shutdown(wait=True)
    assert runs == [1]


def test_json_lines_carry_the_event_fields() -> None:
    record = logging.LogRecord(
        "crawler.scheduler", logging.INFO, __file__, 1, "step %s", ("ok",), None
    )
    record.event = "step_finished"
    record.step = "crawl"
    line = json.loads(JsonLines().format(record))
    assert line["message"] == "step ok"
    assert line["event"] == "step_finished"
    assert line["step"] == "crawl"
    assert line["level"] == "info"
    assert dt.datetime.fromisoformat(line["time"]).tzinfo is not None


# --- the real chain, in a subprocess, on the local forge ---------------------------------------


def _local_config(
    forge, path: Path, hosts: tuple[str, ...], accounts: dict[str, tuple[str, ...]] | None = None
) -> Path:
    """The demo's organisations.yml for ``hosts``: every account, or only ``accounts[host]``
    (a host crawled whole stays whole)."""
    import yaml

    from crawler.demo import write_demo_config

    write_demo_config(forge, path)
    document = yaml.safe_load(path.read_text())
    document = {h: document[h] for h in hosts}
    for host, logins in (accounts or {}).items():
        owners = document.get(host, {}).get("owners")  # none: an instance crawled whole
        if owners:
            document[host]["owners"] = {k: v for k, v in owners.items() if k in logins}
    path.write_text(yaml.safe_dump(document))
    return path


def _schedule_once(config: Path, db: Path, out: Path, env: dict[str, str]):
    import os
    import subprocess
    import sys

    return subprocess.Popen(
        [
            sys.executable, "-m", "crawler", "schedule", "--once", "--log-format", "json",
            "--config", str(config), "--db", str(db), "--out", str(out),
            "--sill-source", "bundled",
        ],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


@pytest.mark.long
def test_sigterm_during_the_crawl_stops_cleanly_and_the_next_run_resumes(tmp_path: Path) -> None:
    import signal
    import sqlite3

    from _shared import KILL_ACCOUNTS

    from crawler.config import load_config, token_variables
    from localforge import Dataset, LocalForge

    # A few GitHub accounts (a paged organisation, a user, small ones) beside the GitLab
    # instance crawled whole: the stop, the resume and the publication of that, in seconds.
    hosts = ("github.com", "gricad-gitlab.univ-grenoble-alpes.fr")
    with LocalForge(Dataset.load(), latency=0.05) as forge:
        config = _local_config(forge, tmp_path / "organisations.yml", hosts, KILL_ACCOUNTS)
        env = {v: "test-token" for f in load_config(config).forges for v in token_variables(f)}
        db, out = tmp_path / "inventory.db", tmp_path / "public"
        process = _schedule_once(config, db, out, env)
        deadline = time.monotonic() + 60
        saved = 0
        while saved == 0 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
            if db.exists():
                try:
                    with sqlite3.connect(db) as connection:
                        saved = connection.execute("select count(*) from repositories").fetchone()[
                            0
                        ]
                except sqlite3.OperationalError:
                    pass
        assert saved > 0, "the crawl never saved a page"
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stderr
        events = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
        assert any(e.get("event") == "signal" for e in events)
        finished = [e for e in events if e.get("event") == "chain_finished"]
        assert finished and finished[-1]["status"] == "stopped"
        assert not out.exists()  # nothing published from a half crawl
        with sqlite3.connect(db) as connection:
            run = connection.execute(
                "select status, finished_at from crawl_runs order by id desc limit 1"
            ).fetchone()
            errors = connection.execute("select count(*) from crawl_errors").fetchone()[0]
            first = connection.execute("select count(*) from repositories").fetchone()[0]
        assert run[0] == "interrupted" and run[1]
        assert errors == 0  # a stop is not a failure of the accounts it did not reach

        # The next run finishes the job and publishes.
        forge.latency = 0.0
        process = _schedule_once(config, db, out, env)
        stdout, stderr = process.communicate(timeout=240)
        assert process.returncode == 0, stderr
    with sqlite3.connect(db) as connection:
        statuses = [r[0] for r in connection.execute("select status from crawl_runs order by id")]
        total = connection.execute(
            "select count(*) from repositories where removed_at is null"
        ).fetchone()[0]
    assert statuses == ["interrupted", "ok"]
    assert total > first
    assert (out / "build.json").exists()


def test_once_while_another_process_runs_a_chain_says_so_and_exits_2(tmp_path: Path) -> None:
    import subprocess
    import sys

    db = tmp_path / "inventory.db"
    # Another process holds the chain's lock (the daemon in the middle of a chain).
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from crawler.lock import exclusive\n"
            "with exclusive(Path(sys.argv[1])):\n print('held', flush=True); time.sleep(60)",
            str(db.with_name(db.name + ".chain")),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        once = subprocess.run(
            [sys.executable, "-m", "crawler", "schedule", "--once", "--db", str(db),
             "--out", str(tmp_path / "public"), "--config", str(tmp_path / "none.yml")],
            check=False, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        holder.kill()
        holder.wait()
    assert once.returncode == 2
    assert "une autre chaîne" in once.stdout
    assert not db.exists()  # nothing was touched


def test_list_prints_each_job_with_its_next_runs() -> None:
    from click.testing import CliRunner

    from crawler.cli import main

    result = CliRunner().invoke(main, ["schedule", "--list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("chain") and "30 2 * * *" in lines[0]
    assert lines[1].startswith("sill") and "0 */6 * * *" in lines[1]
    assert "Europe/Paris" in lines[-1]


def test_invalid_schedule_file_exits_2_naming_the_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from crawler.cli import main

    path = tmp_path / "schedule.yml"
    path.write_text('chain: "30 2 * * *"\nsill: "every six hours"\n')
    result = CliRunner().invoke(main, ["schedule", "--list", "--schedule", str(path)])
    assert result.exit_code == 2
    assert f"{path}:2:" in result.output
