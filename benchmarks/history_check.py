#!/usr/bin/env python
"""What the history rules (ML2xx) cost, on a git repository of generated migrations.

    python benchmarks/history_check.py [--migrations 1500] [--changed 3] [--repeat 7]

Builds a repository with ``benchmarks/corpus.py`` (committed on ``main``), branches off, edits
``--changed`` migrations (two edits of meaning and a new migration, by default), then prints:

- the time the git-based check adds to a lint run of the whole project: the best of
  ``--repeat`` runs selecting ML2xx plus ML901, minus the best of runs selecting ML901 alone
  (facts cache warm in both, so parsing is not measured twice);
- the time the git source itself takes (base, diff, one ``cat-file --batch``, normal forms);
- cold hashing of every migration for the lock file (``migration-lint lock``: read, normalise,
  hash, write; worker processes on every core) and the size of the file.

CPU seconds (this process, its worker processes and git's) are printed next to wall-clock
seconds: on a busy machine the wall clock measures the neighbours.

Targets from issue 5: under 0.3 s added by the git check; under 2 s to hash everything cold.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.corpus import generate  # noqa: E402
from migration_lint.cli import main as cli_main  # noqa: E402
from migration_lint.context import LintContext  # noqa: E402
from migration_lint.integrity import sources  # noqa: E402
from migration_lint.lint import Options, run  # noqa: E402


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        [
            "git",
            "-c",
            "user.email=b@example.com",
            "-c",
            "user.name=b",
            "-c",
            "commit.gpgsign=false",
            *args,
        ],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def build(root: Path, migrations: int, changed: int) -> list[Path]:
    paths = generate(root, migrations=migrations, apps=30, seed=1)
    (root / "pyproject.toml").touch()
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "corpus")
    git(root, "checkout", "-q", "-b", "feature")
    # Edits of meaning to the middle of the history, and one new migration.
    edited = 0
    for path in paths[len(paths) // 3 :]:
        if edited == max(changed - 1, 0):
            break
        text = path.read_text()
        if "max_length=" in text:
            path.write_text(text.replace("max_length=", "max_length=1", 1))
            edited += 1
    if changed:
        last = paths[-1]
        number = int(last.name[:4]) + 1
        new = last.with_name(f"{number:04d}_benchmark.py")
        new.write_text(
            "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n"
            f"    dependencies = [({last.parent.parent.name!r}, {last.stem!r})]\n"
            "    operations = []\n"
        )
    return paths


def best(fn: Callable[[], object], repeat: int) -> float:
    """Best wall-clock seconds of ``repeat`` calls, the least disturbed by other processes, as
    ``timeit`` reports (``CPU[0]`` keeps the best CPU seconds)."""
    times, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), _cpu()
        fn()
        times.append(time.perf_counter() - started)
        cpu.append(_cpu() - started_cpu)
    CPU[0] = min(cpu)
    return min(times)


# The CPU seconds of the last ``best``: on a busy machine wall-clock time is not the tool's.
CPU = [0.0]


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the lock's worker processes;
    git's processes too, so the lint figures include git's own work)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--migrations", type=int, default=1500)
    parser.add_argument("--changed", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="ml-history-") as tmp:
        root = Path(tmp) / "project"
        started = time.perf_counter()
        paths = build(root, args.migrations, args.changed)
        status = git(root, "status", "--porcelain").splitlines()
        print(
            f"repository: {len(paths)} migrations, {len(status)} changed files on the branch "
            f"(built in {time.perf_counter() - started:.1f} s)"
        )
        os.chdir(root)

        def lint(select: tuple[str, ...]) -> list[object]:
            return list(run(Options(source_only=True, select=select)).findings)

        lint(("ML901",))  # warm the facts cache
        found = [f for f in lint(("ML901", "ML2")) if f.code.startswith("ML2")]  # type: ignore[attr-defined]
        base = best(lambda: lint(("ML901",)), args.repeat)
        base_cpu = CPU[0]
        full = best(lambda: lint(("ML901", "ML2")), args.repeat)
        full_cpu = CPU[0]
        print(
            f"lint run, ML901 only:     {base:.3f} s wall, {base_cpu:.3f} s CPU (best of {args.repeat})"
        )
        print(f"lint run, ML901 + ML2xx:  {full:.3f} s wall, {full_cpu:.3f} s CPU")
        print(
            f"git-based check adds:     {full - base:.3f} s wall, {full_cpu - base_cpu:.3f} s CPU "
            "(target < 0.3 s)"
        )
        print(f"ML2xx findings: {len(found)} ({', '.join(sorted({f.code for f in found}))})")  # type: ignore[attr-defined]

        captured: dict[str, LintContext] = {}
        original = sources._load

        def spy(ctx: LintContext) -> sources.Frozen:
            captured["ctx"] = ctx
            return original(ctx)

        sources._load = spy
        lint(("ML201",))
        sources._load = original
        ctx = captured["ctx"]

        def load() -> None:
            ctx.memo.clear()
            sources.frozen(ctx)

        alone = best(load, args.repeat)
        print(
            f"git source alone (base, diff, cat-file, normal forms): {alone:.3f} s wall, "
            f"{CPU[0]:.3f} s CPU"
        )

        def lock() -> None:
            (root / "migrations.lock").unlink(missing_ok=True)
            assert cli_main(["lock", "--source-only", "--no-cache"], stdout=io.StringIO()) == 0

        cold = best(lock, max(3, args.repeat // 2))
        size = (root / "migrations.lock").stat().st_size
        print(
            f"lock file, cold hashing of all {len(paths)} migrations: {cold:.3f} s wall, "
            f"{CPU[0]:.3f} s CPU (target < 2 s); {size / 1024:.0f} KiB"
        )
        check = best(
            lambda: cli_main(["lock", "--check", "--source-only"], stdout=io.StringIO()),
            max(3, args.repeat // 2),
        )
        print(f"lock --check (facts cache warm): {check:.3f} s wall, {CPU[0]:.3f} s CPU")
        with_lock = best(lambda: lint(("ML901", "ML2")), args.repeat)
        print(
            f"lint run, ML901 + ML2xx, git base and lock file: {with_lock:.3f} s wall, "
            f"{CPU[0]:.3f} s CPU ({with_lock - base:+.3f} s over ML901 alone)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
