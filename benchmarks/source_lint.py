#!/usr/bin/env python
"""Speed of the source-level lint against the parsers it could be built on.

    python benchmarks/source_lint.py [--migrations 3000] [--apps 30] [--sample 300]

Prints, for a generated corpus (benchmarks/corpus.py):
- ``ast.parse`` over every file, and libcst (plain and with position metadata, when installed:
  the package no longer needs it) over a sample, scaled to the whole corpus: why files are read
  with ``ast``;
- a cold lint (a first run: no cache yet, which it writes; in a new process) of every
  migration, and the ratio to ``ast.parse`` (goal: <= 3x), with the machine's cores (measured in
  rounds paired with ``ast.parse``) and in one process;
- a warm lint (cache present, nothing changed) (goal: < 0.5 s);
- a pre-commit style run on one changed migration of a 500-migration app, as a fresh process,
  interpreter start included, the file edited before each run (goal: < 0.5 s wall time).
"""

from __future__ import annotations

import argparse
import ast
import functools
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.corpus import generate
from migration_lint.lint import Options, run
from migration_lint.workers import available


def best_of(times: int, fn: object) -> float:
    best = float("inf")
    for _ in range(times):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best


def parse_ast(paths: list[Path]) -> None:
    for path in paths:
        ast.parse(path.read_bytes())


def parse_libcst(paths: list[Path], metadata: bool) -> None:
    import libcst
    from libcst.metadata import MetadataWrapper, PositionProvider

    for path in paths:
        module = libcst.parse_module(path.read_bytes())
        if metadata:
            MetadataWrapper(module).resolve(PositionProvider)


def lint(
    root: Path, paths: tuple[str, ...] = (), use_cache: bool = False, ignore: tuple[str, ...] = ()
) -> int:
    old = os.getcwd()
    os.chdir(root)
    try:
        options = Options(paths=paths, source_only=True, use_cache=use_cache, ignore=ignore)
        result = run(options)
    finally:
        os.chdir(old)
    return result.files_checked


_FRESH = """
import os, shutil, sys, time
from migration_lint import background
from migration_lint.lint import Options, run
os.chdir(sys.argv[1])
shutil.rmtree(".migration_lint_cache", ignore_errors=True)
start = time.perf_counter()
result = run(
    Options(source_only=True, jobs=int(sys.argv[2]), ignore=tuple(sys.argv[3:])), keep_context=True
)
background.wait()
print(time.perf_counter() - start)
"""


def cold(root: Path, jobs: int = 0, ignore: tuple[str, ...] = ()) -> float:
    """A cold lint as a user's first run gets it: a new process, so that nothing a previous
    run imported, parsed or memoised (SQL parses, qualified names) helps, and no cache yet,
    which the run writes. The figure is ``run()`` until its cache files are written, as
    ``ast.parse`` is timed without the interpreter's start; the CLI adds its start and the
    report to it. What the run built is kept, as the CLI keeps it and exits without freeing
    it (``cli.entry``)."""
    command = [sys.executable, "-c", _FRESH, str(root), str(jobs), *ignore]
    done = subprocess.run(command, env=installed(), capture_output=True, text=True, check=True)
    return float(done.stdout)


@functools.cache
def installed() -> dict[str, str]:
    """The environment of a new process that runs the package as pip installs it: compiled,
    with its bytecode used (this environment may set PYTHONDONTWRITEBYTECODE)."""
    package = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(package)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    command = [sys.executable, "-m", "compileall", "-q", str(package / "migration_lint")]
    subprocess.run(command, env=env, check=True)
    return env


def best_cold(times: int, root: Path, jobs: int = 0, ignore: tuple[str, ...] = ()) -> float:
    return min(cold(root, jobs, ignore) for _ in range(times))


def paired(rounds: int, paths: list[Path], root: Path) -> tuple[float, float, float]:
    """``ast.parse`` of every file and a cold lint, one after the other in each round, so that
    both see the machine in the same state (on a shared machine its speed drifts by 10-20%
    within minutes). The best of each, and the median of the rounds' ratios."""
    asts, colds = [], []
    for _ in range(rounds):
        asts.append(best_of(1, lambda: parse_ast(paths)))
        colds.append(cold(root))
    ratios = sorted(c / a for a, c in zip(asts, colds, strict=True))
    return min(asts), min(colds), ratios[len(ratios) // 2]


def real_ratio(source: Path) -> None:
    """The cold-lint ratio on real migration files: every ``*/migrations/0*.py`` under
    ``source``, copied into one tree by app (the folder above ``migrations``)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "pyproject.toml").write_text("", encoding="utf-8")
        taken: dict[str, Path] = {}
        for found in sorted(source.rglob("migrations/0*.py")):
            app_dir = found.parent.parent
            label = app_dir.name
            while taken.setdefault(label, app_dir) != app_dir:
                label += "_"
            target = root / label / "migrations" / found.name
            target.parent.mkdir(parents=True, exist_ok=True)
            (target.parent / "__init__.py").touch()
            target.write_bytes(found.read_bytes())
        paths = sorted(root.rglob("migrations/0*.py"))
        size = sum(p.stat().st_size for p in paths)
        t_ast, t_cold, median = paired(7, paths, root)
        t_one = best_cold(5, root, jobs=1)
        t_no_app = best_cold(5, root, ignore=("ML3",))
        print(
            f"real migrations under {source}: {len(paths)} files, {size / 1e6:.2f} MB, {len(taken)} apps"
        )
        print(
            f"  ast.parse {t_ast:.3f} s; cold lint {t_cold:.3f} s ({t_cold / t_ast:.1f}x; "
            f"median of 7 paired rounds {median:.1f}x)"
        )
        print(f"  one process {t_one:.3f} s ({t_one / t_ast:.1f}x)", end="")
        print(f"; without ML3xx {t_no_app:.3f} s ({t_no_app / t_ast:.1f}x)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--migrations", type=int, default=3000)
    parser.add_argument("--apps", type=int, default=30)
    parser.add_argument("--sample", type=int, default=300)
    parser.add_argument("--view-modules", type=int, default=30)
    parser.add_argument(
        "--real-dir",
        type=Path,
        help="also lint the real migrations found under this folder (a site-packages, say)",
    )
    args = parser.parse_args()
    if args.real_dir:
        real_ratio(args.real_dir)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "corpus"
        paths = generate(root, args.migrations, args.apps)
        size = sum(p.stat().st_size for p in paths)
        print(f"corpus: {len(paths)} migrations, {size / 1e6:.1f} MB, {args.apps} apps")

        t_ast = best_of(3, lambda: parse_ast(paths))
        sample = paths[:: max(1, len(paths) // args.sample)][: args.sample]
        scale = len(paths) / len(sample)
        print(f"ast.parse, all files:                 {t_ast:6.2f} s")
        if importlib.util.find_spec("libcst") is None:
            print("libcst: not installed (pip install libcst to compare with it)")
        else:
            t_cst = best_of(1, lambda: parse_libcst(sample, False)) * scale
            t_meta = best_of(1, lambda: parse_libcst(sample, True)) * scale
            print(
                f"libcst.parse_module (scaled from {len(sample)}): {t_cst:6.2f} s  ({t_cst / t_ast:.0f}x ast)"
            )
            print(
                f"libcst + positions  (scaled from {len(sample)}): {t_meta:6.2f} s  ({t_meta / t_ast:.0f}x ast)"
            )

        cache = root / ".migration_lint_cache"
        jobs = available()
        t_ast, t_cold, median = paired(7, paths, root)
        print(
            f"lint, cold (first run, new process, {jobs} jobs): {t_cold:6.2f} s  "
            f"({t_cold / t_ast:.1f}x the best ast.parse, {t_ast:.2f} s; median of 7 paired "
            f"rounds {median:.1f}x; goal <= 3x)"
        )
        t_one = best_cold(3, root, jobs=1)
        print(f"  in one process:                     {t_one:6.2f} s  ({t_one / t_ast:.1f}x)")
        t_no_app = best_cold(3, root, ignore=("ML3",))
        print(
            f"  without the application-code scan (ML3xx): {t_no_app:6.2f} s  ({t_no_app / t_ast:.1f}x ast.parse)"
        )
        lint(root, use_cache=True)
        t_warm = best_of(3, lambda: lint(root, use_cache=True))
        print(f"lint, warm (nothing changed):         {t_warm:6.2f} s  (goal < 0.5 s)")
        assert cache.exists()

        app_root = Path(tmp) / "one_app"
        app_paths = generate(app_root, 500, apps=1)
        changed = app_paths[-1].relative_to(app_root)
        command = [sys.executable, "-m", "migration_lint", "--source-only", str(changed)]
        env = installed()
        edits = iter(range(1_000_000))

        def precommit() -> None:
            # The commit changed this migration: its facts and the run's result are not cached.
            with (app_root / changed).open("a", encoding="utf-8") as handle:
                handle.write(f"# edit {next(edits)}\n")
            subprocess.run(command, cwd=app_root, env=env, capture_output=True, check=False)

        t_first = best_of(1, precommit)
        t_hook = best_of(5, precommit)
        t_python = best_of(5, lambda: subprocess.run([sys.executable, "-c", "pass"], check=False))
        print(
            f"pre-commit, 1 file of a 500-migration app, first run (cold cache): {t_first:5.2f} s"
        )
        print(
            f"pre-commit, 1 file of a 500-migration app, next runs:              {t_hook:5.2f} s  (goal < 0.5 s)"
        )
        print(f"  (of which a bare interpreter start: {t_python:.2f} s)")

        # The same app with view modules that call get_or_create: every run reads them all.
        app = next(p.name for p in app_root.iterdir() if (p / "migrations").is_dir())
        created = (p.read_text() for p in (app_root / app / "migrations").glob("0*.py"))
        models = sorted({m for text in created for m in _CREATED.findall(text)})
        for number in range(args.view_modules):
            (app_root / app / f"views_{number}.py").write_text(view_module(app, models, number))
        t_first = best_of(1, precommit)
        t_hook = best_of(5, precommit)
        print(
            f"  with {args.view_modules} view modules calling get_or_create: first run {t_first:5.2f} s, "
            f"next runs {t_hook:5.2f} s"
        )


_CREATED = re.compile(r"CreateModel\(\s*name=\"(\w+)\"")


def view_module(app: str, models: list[str], seed: int) -> str:
    """A view module with a dozen get_or_create calls on the app's models."""
    names = models[seed % max(len(models), 1) :][:4] or models[:4]
    lines = [f"from {app}.models import {', '.join(names)}", "", ""]
    for index in range(12):
        model = names[index % len(names)]
        lines += [
            f"def view_{index}(request, value):",
            f"    obj, created = {model}.objects.get_or_create(name=value, defaults={{}})",
            "    return obj",
            "",
            "",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
