"""Run every benchmark script in this folder, one process each, print their output, and write
the figures they report (`common.report`) as a table at the end of `benchmarks/README.md`,
between the markers below; the rest of the file is left as it is.

    python benchmarks/run_all.py [--only NAME[,NAME]]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.common import REPORT_PREFIX, machine  # noqa: E402

README = HERE / "README.md"
NOT_BENCHMARKS = {"run_all.py", "__init__.py", "common.py"}
BEGIN = "<!-- make bench: begin -->"
END = "<!-- make bench: end -->"
HEADING = (
    "## Latest `make bench` run (generated)\n\n"
    "Written by `make bench` (`benchmarks/run_all.py`) from the figures each script reports; "
    "the table above it holds the explanations.\n"
)


@dataclass
class Row:
    figure: str
    goal: str
    result: str
    machine: str


def scripts(only: str | None) -> list[Path]:
    found = {p.stem: p for p in sorted(HERE.glob("*.py")) if p.name not in NOT_BENCHMARKS}
    if not only:
        return list(found.values())
    names = [n.strip().removesuffix(".py") for n in only.split(",") if n.strip()]
    unknown = [n for n in names if n not in found]
    if unknown:
        raise SystemExit(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(found)}")
    return [found[n] for n in sorted(set(names))]


def run(script: Path) -> tuple[int, list[dict[str, str]]]:
    """Run one script, passing its output through as it comes and keeping its reported
    figures (the `BENCH` lines, not echoed); returns its exit code and the figures."""
    figures = []
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # the output streams line by line
    with subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith(REPORT_PREFIX):
                try:
                    figures.append(json.loads(line.removeprefix(REPORT_PREFIX)))
                    continue
                except json.JSONDecodeError:
                    pass  # not a report after all: shown like any other line
            print(line, end="", flush=True)
    return proc.returncode, figures


def here_machine() -> str:
    return f"{machine()} (load average {os.getloadavg()[0]:.2f})"


def cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def section(rows: list[Row], ran: list[Path], only: bool, day: dt.date) -> str:
    names = ", ".join(f"`{p.name}`" for p in ran)
    which = f"only {names} (`--only`)" if only else f"all {len(ran)} scripts: {names}"
    lines = [
        BEGIN,
        f"Scripts run: {which}. Machine load average measured as each script ended.",
        "",
        "| figure | goal | result | date | machine |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {cell(r.figure)} | {cell(r.goal)} | {cell(r.result)} | {day} | {cell(r.machine)} |"
        for r in rows
    ]
    lines.append(END)
    return "\n".join(lines)


def write_readme(text: str) -> None:
    """Replace the marked section of the README (append it, with its heading, if it is not
    there yet), reading the file just before writing so other edits to it are kept."""
    current = README.read_text(encoding="utf-8")
    start, end = current.find(BEGIN), current.find(END)
    if start != -1 and end > start:
        updated = current[:start] + text + current[end + len(END) :]
    else:
        updated = current.rstrip("\n") + "\n\n" + HEADING + "\n" + text + "\n"
    README.write_text(updated, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", metavar="NAME[,NAME]", help="run these scripts only (names without .py)"
    )
    args = parser.parse_args()
    ran = scripts(args.only)
    day = dt.datetime.now(dt.UTC).date()
    rows: list[Row] = []
    failed = 0
    for script in ran:
        print(f"\n=== {script.stem} ===", flush=True)
        code, figures = run(script)
        where = here_machine()
        rows += [Row(f["figure"], f["goal"], f["result"], where) for f in figures]
        if code != 0:
            failed += 1
            what = "its remaining figures" if figures else "its figures"
            rows.append(Row(f"`{script.name}`: {what}", "—", f"failed: exit {code}", where))
    print("\n=== figures ===")
    for r in rows:
        print(f"- {r.figure}\n  goal: {r.goal}; result: {r.result}")
    write_readme(section(rows, ran, bool(args.only), day))
    print(f"\nwritten to {README.relative_to(HERE.parent)}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
