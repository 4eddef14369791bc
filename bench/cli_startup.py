"""Start-up cost of the command line: CPU time of a few quick commands (median of N runs) and
what each one imports.

Every test that starts `codegouv` (about 55 per run) and every user who types
`codegouv --help` pays the imports of the command line before anything else happens, so they
are measured command by command: the CPU time (user + sys, which the load of a shared machine
disturbs less than the wall time), the number of modules loaded and the heavy libraries among
them (`python -X importtime` of the same command, run in-process).

    .venv/bin/python bench/cli_startup.py [--runs 5] [--write]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
CODEGOUV = str(Path(PYTHON).with_name("codegouv"))
LICENCE = "crawler/licences/data/texts/MIT.en.txt"

COMMANDS: dict[str, list[str]] = {
    "codegouv --help": [CODEGOUV, "--help"],
    "codegouv orgs validate config/organisations.yml": [
        CODEGOUV,
        "orgs",
        "validate",
        "config/organisations.yml",
    ],
    f"codegouv licence {LICENCE}": [CODEGOUV, "licence", LICENCE],
    "python -m crawler crawl --help": [PYTHON, "-m", "crawler", "crawl", "--help"],
    "python -c pass (Python alone)": [PYTHON, "-c", "pass"],
}

#: Libraries whose presence the table reports (the top-level package names).
HEAVY = (
    "github",
    "gitlab",
    "sqlite_utils",
    "jinja2",
    "apscheduler",
    "datasette",
    "requests",
    "ruamel",
    "rich",
)


def cpu_seconds(command: list[str]) -> float:
    """User + system CPU time of one run of ``command`` (its output discarded; a command that
    fails stops the benchmark rather than being measured)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def imports(command: list[str]) -> tuple[int, float, list[str]]:
    """Modules imported by ``command``, the sum of the top-level import times (s) and the
    heavy libraries among them, from ``-X importtime``."""
    if command[0] == CODEGOUV:
        command = [PYTHON, "-c", "from crawler.cli import main; main()", *command[1:]]
    result = subprocess.run(
        [PYTHON, "-X", "importtime", *command[1:]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    names: list[str] = []
    total = 0
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        _, cumulative, name = line.split("|")
        if not name.strip() or not cumulative.strip().isdigit():
            continue
        names.append(name.strip())
        if not name[1:].startswith(" "):  # a top-level import: its cumulative time counts
            total += int(cumulative)
    heavy = sorted({n.split(".")[0] for n in names} & set(HEAVY))
    return len(names), total / 1e6, heavy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--write", action="store_true", help="write into bench/README.md")
    args = parser.parse_args()
    lines = [
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average "
        + " / ".join(f"{v:.1f}" for v in os.getloadavg())
        + f" (1 / 5 / 15 min), median of {args.runs} runs.",
        "",
        "| command | CPU (user + sys) | modules imported | import time (`-X importtime`) "
        "| heavy libraries loaded |",
        "|---|---:|---:|---:|---|",
    ]
    for label, command in COMMANDS.items():
        cpu = statistics.median(cpu_seconds(command) for _ in range(args.runs))
        count, total, heavy = imports(command)
        lines.append(
            f"| `{label}` | {cpu:.2f} s | {count} | {total:.2f} s | {', '.join(heavy) or '—'} |"
        )
    text = "\n".join(lines)
    print(text)
    if args.write:
        readme = ROOT / "bench" / "README.md"
        begin, end = "<!-- cli-startup:begin -->", "<!-- cli-startup:end -->"
        content = readme.read_text(encoding="utf-8")
        head, rest = content.split(begin, 1)
        _, tail = rest.split(end, 1)
        readme.write_text(f"{head}{begin}\n{text}\n{end}{tail}", encoding="utf-8")


if __name__ == "__main__":
    main()
