"""Run the reality tests under every supported Django series, each in its own virtualenv.

    python scripts/django_matrix.py [--dir .matrix] [--series 4.2,5.2,6] [-- PYTEST ARGS]

For each series: a virtualenv under ``--dir`` (kept between runs, so the next run only checks
the installs), ``pip install -e '.[test]'``, then the series' Django, then
``python -m pytest tests/test_portability_reality.py tests/test_rule_examples.py -q`` with a
JUnit XML report. Prints a summary table (series, Python, Django, result) and, from the
``outcome`` properties ``tests/test_portability_reality.py`` records, what each database ended up
with for each case under each series. Exits non-zero when a series fails.

PostgreSQL and MariaDB are found the way the tests find them (``MIGRATION_LINT_PG_*``,
``MIGRATION_LINT_MYSQL_*``); without them their tests skip, unless ``CI=true``.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ("tests/test_portability_reality.py", "tests/test_rule_examples.py")
REALITY_TEST = "test_linter_agrees_with_the_database"
CONCURRENT_TEST = "test_add_index_concurrently"


@dataclass(frozen=True)
class Series:
    name: str
    requirement: str
    python: str  # the interpreter version to look for, "3.11"


SERIES = (
    # 4.2 on the oldest Python the project supports, so that is covered too.
    Series("4.2", "Django~=4.2.0", "3.10"),
    Series("5.2", "Django~=5.2.0", "3.11"),
    Series("6", "Django~=6.0", "3.12"),
)


@dataclass
class Outcome:
    series: Series
    python: str = "?"
    django: str = "?"
    result: str = "not run"
    ok: bool = False
    report: Path | None = None


def find_python(version: str) -> str | None:
    """A working interpreter of ``version``: a pyenv install, else ``pythonX.Y`` on PATH.

    pyenv's shims are on PATH for every version but run only the selected ones, so each
    candidate is tried before it is used.
    """
    pyenv = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    installed = glob.glob(os.path.join(pyenv, "versions", f"{version}.*", "bin", "python"))
    candidates = sorted(installed, key=_version_key, reverse=True)
    candidates.append(shutil.which(f"python{version}") or "")
    for candidate in filter(None, candidates):
        probe = [candidate, "-c", "import sys, venv; print('%d.%d' % sys.version_info[:2])"]
        result = subprocess.run(probe, capture_output=True, text=True, check=False)
        if result.returncode == 0 and result.stdout.strip() == version:
            return candidate
    return None


def _version_key(path: str) -> tuple[int, ...]:
    name = Path(path).parent.parent.name  # versions/3.10.13/bin/python
    return tuple(int(part) if part.isdigit() else -1 for part in name.split("."))


def run(argv: list[str], log: Path) -> int:
    with log.open("a", encoding="utf-8") as out:
        out.write(f"\n$ {' '.join(argv)}\n")
        out.flush()
        return subprocess.run(
            argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, check=False
        ).returncode


def last_line(log: Path) -> str:
    lines = [line.strip() for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
    summary = [line for line in lines if re.search(r"\b(passed|failed|error|skipped)\b", line)]
    return (summary or lines or ["(no output)"])[-1].strip("= ")


def run_series(series: Series, directory: Path, pytest_args: list[str]) -> Outcome:
    outcome = Outcome(series)
    python = find_python(series.python)
    if python is None:
        outcome.result = f"no Python {series.python} found"
        return outcome
    venv = directory / f"django-{series.name}"
    log = directory / f"django-{series.name}.log"
    log.write_text("", encoding="utf-8")
    bin_python = str(venv / "bin" / "python")
    print(f"==> Django {series.name}: {venv} (log: {log})", flush=True)
    if not (venv / "bin" / "python").exists() and run([python, "-m", "venv", str(venv)], log):
        outcome.result = "venv creation failed"
        return outcome
    pip = [bin_python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    if run([*pip, "-e", ".[test]"], log) or run([*pip, series.requirement], log):
        outcome.result = "install failed (see log)"
        return outcome
    versions = subprocess.run(
        [
            bin_python,
            "-c",
            "import sys, django; print(sys.version.split()[0], django.get_version())",
        ],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    if len(versions) == 2:
        outcome.python, outcome.django = versions
    report = directory / f"django-{series.name}.xml"
    pytest = [bin_python, "-m", "pytest", *TESTS, "-q", "-p", "no:cacheprovider"]
    # record_property (the observed outcomes) needs the xunit1 flavour of the report.
    pytest += ["-o", "junit_family=xunit1"]
    code = run([*pytest, f"--junitxml={report}", *pytest_args], log)
    outcome.ok = code == 0
    outcome.result = last_line(log) if code in (0, 1) else f"pytest exited {code}: {last_line(log)}"
    outcome.report = report if report.exists() else None
    return outcome


def observed(report: Path) -> dict[tuple[str, str], str]:
    """(case, database) -> outcome recorded by the reality tests; "skipped" where skipped."""
    out: dict[tuple[str, str], str] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        match = re.fullmatch(r"(\w+)\[(.+)\]", case.get("name", ""))
        if not match or match.group(1) not in (REALITY_TEST, CONCURRENT_TEST):
            continue
        test, params = match.groups()
        if test == CONCURRENT_TEST:
            name, database = "AddIndexConcurrently", params
        else:
            name, _, database = params.rpartition("-")
        props = {p.get("name"): p.get("value", "") for p in case.iter("property")}
        value = props.get("outcome", "")
        if test == CONCURRENT_TEST and value.startswith("fails: "):
            value = "fails: " + value.removeprefix("fails: ").split(":")[0]
        if case.find("skipped") is not None:
            value = "skipped"
        elif case.find("failure") is not None or case.find("error") is not None:
            value = f"{value or '?'} (FAILED)"
        out[(name, database)] = value or "?"
    return out


def cell(reports: dict[str, dict[tuple[str, str], str]], case: str, database: str) -> str:
    values = {series: seen.get((case, database), "-") for series, seen in reports.items()}
    if len(set(values.values())) == 1:
        return next(iter(values.values()))
    return ", ".join(f"{series}: {value}" for series, value in values.items())


def table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(text.ljust(width) for text, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default=".matrix", help="where the virtualenvs go (.matrix)")
    parser.add_argument("--series", default=",".join(s.name for s in SERIES))
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments, after --")
    args = parser.parse_args(argv)
    wanted = [name.strip() for name in args.series.split(",") if name.strip()]
    unknown = set(wanted) - {s.name for s in SERIES}
    if unknown:
        parser.error(f"unknown series {', '.join(sorted(unknown))}")
    directory = (ROOT / args.dir).resolve()
    directory.mkdir(parents=True, exist_ok=True)

    outcomes = [run_series(s, directory, args.pytest_args) for s in SERIES if s.name in wanted]

    print()
    rows = [["series", "Python", "Django", "result"]]
    rows += [[o.series.name, o.python, o.django, o.result] for o in outcomes]
    print(table(rows))

    reports = {o.series.name: observed(o.report) for o in outcomes if o.report}
    if reports:
        keys = [key for seen in reports.values() for key in seen]
        cases = list(dict.fromkeys(case for case, _ in keys))
        databases = list(dict.fromkeys(db for _, db in keys))
        rows = [["case", *databases]]
        for case in cases:
            rows.append([case, *(cell(reports, case, db) for db in databases)])
        print(f"\nWhat each database ended up with, Django {', '.join(reports)}")
        print("(a cell names the series where they differ):")
        print(table(rows))
    return 0 if outcomes and all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
