"""Small helpers to lint throw-away trees: ``lint_files``, ``assert_flags``, ``assert_clean``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from migration_lint.config import parse_targets
from migration_lint.docs import example_files
from migration_lint.findings import Finding, FixStep, Severity
from migration_lint.lint import Options, run
from migration_lint.rules.base import Example


@contextmanager
def chdir(path: Path) -> Iterator[None]:
    old = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def write_tree(root: Path, files: Sequence[tuple[str, str | bytes]]) -> None:
    # An empty pyproject.toml marks the project root, so discovery stays inside ``root``.
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").touch()
    for relative, content in files:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def lint_files(
    root: Path, files: Sequence[tuple[str, str | bytes]], *targets: str, **options: object
) -> list[Finding]:
    """Write ``files`` under ``root`` and lint ``targets`` (default: the last file) from ``root``."""
    write_tree(root, files)
    with chdir(root):
        opts = Options(paths=targets or (files[-1][0],), source_only=True, use_cache=False)
        for key, value in options.items():
            opts = _replace(opts, key, value)
        return run(opts).findings


def _replace(options: Options, key: str, value: object) -> Options:
    from dataclasses import replace

    change: dict[str, Any] = {key: value}  # the option's type is the caller's business
    return replace(options, **change)


def lint_example(root: Path, example: Example, select: tuple[str, ...] = ("ML",)) -> list[Finding]:
    if example.project:
        return lint_project(root, example_files(example), targets=example.targets)
    vendors = parse_targets(example.targets)
    return lint_files(root, example_files(example), select=select, vendors=vendors)


def lint_project(
    root: Path, files: Sequence[tuple[str, str]], *paths: str, targets: Sequence[str] = ()
) -> list[Finding]:
    """Lint in project mode, in a subprocess: Django can be set up only once per process."""
    write_tree(root, files)
    argv = [sys.executable, "-m", "migration_lint", "--format", "json", "--no-cache"]
    argv += [*(paths or (files[-1][0],))]
    if targets:
        argv += ["--target", ",".join(targets)]
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(argv, cwd=root, capture_output=True, text=True, env=env, check=False)
    if result.returncode not in (0, 1):
        raise AssertionError(f"migration-lint exited {result.returncode}: {result.stderr}")
    return [_finding(f) for f in json.loads(result.stdout)["findings"]]


def _finding(data: dict[str, Any]) -> Finding:
    fix = tuple(FixStep(**step) for step in data.pop("fix"))
    severity = Severity.parse(data.pop("severity"))
    return Finding(**data, fix=fix, severity=severity)


def codes(findings: Sequence[Finding]) -> list[str]:
    return [f.code for f in findings]
