"""Small helpers to lint throw-away trees: ``lint_files``, ``assert_flags``, ``assert_clean``."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from migration_lint.docs import example_files
from migration_lint.findings import Finding
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

    return replace(options, **{key: value})


def lint_example(root: Path, example: Example, select: tuple[str, ...] = ("ML",)) -> list[Finding]:
    vendors = tuple((v, None) for v in example.targets)
    return lint_files(root, example_files(example), select=select, vendors=vendors)


def codes(findings: Sequence[Finding]) -> list[str]:
    return [f.code for f in findings]
