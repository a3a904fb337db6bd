"""``migration-lint lock [PATH] [--check] [--force]``: write or verify ``migrations.lock``.

Semantics:

- ``lock`` records every migration on disk (new ones added, moved or reformatted ones' paths and
  content digests refreshed) and rewrites the file. Migrations that a squash on disk replaces and that were deleted move to
  ``retired``. It refuses (exit 1, nothing written) when a recorded migration's meaning changed,
  or one was deleted or renamed, or a recorded squash's ``replaces`` changed: the findings of
  ML201, ML202 and ML203 against the lock file. ``--force`` records them anyway (after every
  database that ran the old version was fixed by hand).
- ``lock --check`` (CI): exit 1 on those same findings; migrations not recorded yet are listed
  but do not fail the check: they have not run anywhere, and are recorded by the next ``lock``
  (run it when they are merged, or in the pull request that adds them, just before merging).
  Exit 2 when there is no lock file, or it cannot be read.

Lock what has been merged: once recorded, a migration's edits are findings.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from migration_lint import discover
from migration_lint.config import load_config
from migration_lint.errors import UsageError
from migration_lint.integrity import lockfile, sources
from migration_lint.integrity.normal import VERSION as NORMAL_FORM_VERSION
from migration_lint.integrity.normal import Unreadable, normalise

EXIT_CLEAN, EXIT_STALE = 0, 1
_RULES = ("ML201", "ML202", "ML203")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"lock: {message}")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="migration-lint lock",
        description="Record the normalised hash of every migration in migrations.lock, or check it.",
    )
    parser.add_argument("path", nargs="?", help="the project (default: the current folder)")
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 if a recorded migration changed, was deleted or renamed; write nothing",
    )
    parser.add_argument(
        "--force", action="store_true", help="record edits to recorded migrations anyway"
    )
    parser.add_argument("--lock-file", metavar="FILE", help="default: migrations.lock at the root")
    parser.add_argument("--settings", help="Django settings module (else like the lint command)")
    parser.add_argument("--source-only", action="store_true", help="never load Django")
    parser.add_argument("--no-cache", action="store_true", help="do not use .migration_lint_cache")
    return parser


def main(argv: Sequence[str], stdout: Any) -> int:
    from migration_lint.lint import find_root

    args = _parser().parse_args(list(argv))
    start = Path(args.path or ".").resolve()
    if not start.exists():
        raise UsageError(f"lock: {args.path}: no such file or directory")
    root = (find_root(start) or (start if start.is_dir() else start.parent)).resolve()
    config = load_config(start if start.is_dir() else start.parent)
    path = Path(args.lock_file).resolve() if args.lock_file else sources.lock_path_for(root)
    shown = sources.display(path)
    old = lockfile.read(path)
    if args.check and old is None:
        raise UsageError(f"lock --check: no lock file at {shown}: run `migration-lint lock`")

    files, settings = _migration_files(args, start, root, config)
    recorded = old.entries if old else {}
    reusable = recorded if old and old.normal_form == NORMAL_FORM_VERSION else {}
    current, problems = _current(files, path.parent, config.get("exclude", []), reusable)
    if problems and not args.check:  # --check leaves unreadable files to ML901
        raise UsageError(f"lock: {problems[0]}")

    exclude = config.get("exclude", [])
    findings = _check(args, root, settings, path, exclude) if old is not None else []
    recorded_paths = {e.path for e in recorded.values()}
    new = sorted(
        k for k, e in current.items() if k not in recorded and e.path not in recorded_paths
    )
    if findings:
        _print_findings(findings, stdout)
    if args.check:
        if new:
            stdout.write(
                f"{shown}: {len(new)} migration{'s' if len(new) != 1 else ''} not recorded yet "
                f"({_list(new)}): run `migration-lint lock` once merged\n"
            )
        if not findings:
            stdout.write(f"{shown}: every recorded migration is intact\n")
        return EXIT_STALE if findings else EXIT_CLEAN
    if findings and not args.force:
        print(
            f"migration-lint: lock: not written: {len(findings)} recorded migration"
            f"{'s' if len(findings) != 1 else ''} changed meaning, went away or changed "
            "replaces; revert the edits, or pass --force once every database that ran them "
            "was fixed by hand",
            file=sys.stderr,
        )
        return EXIT_STALE

    retired = dict(old.retired) if old else {}
    gone = [e for k, e in recorded.items() if k not in current and not _moved(e, current)]
    squashes = _squashes(current, recorded)
    newly_retired = 0
    for entry in gone:
        squash = squashes.get(entry.key) or retired.get(entry.key)
        if squash and squash in current:
            newly_retired += entry.key not in retired
            retired[entry.key] = squash
    for key in list(retired):
        if key in current:
            del retired[key]  # back on disk: recorded as itself again
    updated = sum(1 for k, e in current.items() if k in recorded and recorded[k].hash != e.hash)
    refreshed = sum(
        1
        for k, e in current.items()
        if k in recorded and recorded[k].hash == e.hash and recorded[k] != e
    )
    removed = len(gone) - newly_retired
    lockfile.write(path, current.values(), retired)
    stdout.write(
        f"{shown}: recorded {len(current)} migration{'s' if len(current) != 1 else ''} "
        f"({len(new)} new, {updated} updated, {newly_retired} retired, {removed} removed"
        + (f"; {refreshed} reformatted or moved" if refreshed else "")
        + ")\n"
    )
    return EXIT_CLEAN


def _list(keys: list[str]) -> str:
    return ", ".join(keys[:5]) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")


def _migration_files(
    args: argparse.Namespace, start: Path, root: Path, config: Any
) -> tuple[list[discover.MigrationFile], str | None]:
    """Every migration of the project (the whole project, whatever folder was given), and the
    Django settings that labelled them (None in source mode)."""
    if not args.source_only:
        from migration_lint.project import load_project, resolve_settings

        found = resolve_settings(args.settings or config.get("settings"), start)
        if found is not None:
            project = load_project(*found)
            files = [f for f in project.files if root in Path(os.path.abspath(f.path)).parents]
            return files, found[0]
    elif args.settings:
        raise UsageError("lock: --settings and --source-only exclude each other")
    return discover.find_all(root), None


def _current(
    files: list[discover.MigrationFile],
    folder: Path,
    exclude: list[str],
    recorded: dict[str, lockfile.LockEntry],
) -> tuple[dict[str, lockfile.LockEntry], list[str]]:
    entries: dict[str, lockfile.LockEntry] = {}
    problems: list[str] = []
    todo: list[_Job] = []
    for file in files:
        key = f"{file.app_label}/{file.name}"
        relative = Path(os.path.relpath(os.path.abspath(file.path), folder)).as_posix()
        names = (file.app_label, f"{file.app_label}.{file.name}", relative)
        if any(fnmatch.fnmatch(n, str(p)) for p in exclude for n in names):
            continue
        try:
            data = file.path.read_bytes()
        except OSError as exc:
            problems.append(f"{relative}: cannot read: {exc.strerror}")
            continue
        content = lockfile.content_digest(data)
        before = recorded.get(key)
        if before and before.content == content and before.path == relative:
            entries[key] = before  # the same bytes as recorded: nothing to parse
            continue
        todo.append((key, relative, file.module, content, data))
    for key, result in zip((job[0] for job in todo), _hash_all(todo), strict=True):
        if isinstance(result, str):
            problems.append(result)
        elif result is not None:
            entries[key] = result
    return entries, problems


_Job = tuple[str, str, str, str, bytes]  # key, relative path, module, content digest, bytes
_PARALLEL_FROM = 400  # below this, starting worker processes costs more than it saves


def _hash_one(job: _Job) -> lockfile.LockEntry | str | None:
    key, relative, module, content, data = job
    try:
        form = normalise(data, module)
    except Unreadable as exc:
        return f"{relative} cannot be recorded: it does not parse ({exc})"
    return lockfile.entry_for(key, relative, form, content) if form is not None else None


def _hash_all(jobs: list[_Job]) -> list[lockfile.LockEntry | str | None]:
    """Normal forms are CPU-bound (``ast.parse`` is most of it): a cold lock of a big project
    uses every core."""
    workers = min(os.cpu_count() or 1, 8)
    if len(jobs) < _PARALLEL_FROM or workers < 2:
        return [_hash_one(job) for job in jobs]
    from concurrent.futures import ProcessPoolExecutor

    try:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(_hash_one, jobs, chunksize=max(16, len(jobs) // (workers * 4))))
    except (OSError, RuntimeError):  # no processes here (a sandbox): one is enough
        return [_hash_one(job) for job in jobs]


def _moved(entry: lockfile.LockEntry, current: dict[str, lockfile.LockEntry]) -> bool:
    return any(e.path == entry.path for e in current.values())


def _squashes(
    current: dict[str, lockfile.LockEntry], recorded: dict[str, lockfile.LockEntry]
) -> dict[str, str]:
    """original -> squash, for every squash on disk, as it is now or as it was recorded."""
    out: dict[str, str] = {}
    for key, entry in current.items():
        for original in entry.replaces:
            out[original] = key
        before = recorded.get(key)
        for original in before.replaces if before else ():
            out.setdefault(original, key)
    return out


def _check(
    args: argparse.Namespace, root: Path, settings: str | None, path: Path, exclude: list[str]
) -> list[Any]:
    """ML201-ML203 against the lock file alone (no git, no database), over the whole project."""
    from migration_lint.lint import Options, run

    options = Options(
        root=root,
        settings=settings,
        source_only=settings is None,
        select=_RULES,
        exclude=tuple(str(p) for p in exclude),
        use_cache=not args.no_cache,
    )
    with sources.only({"lock"}, path):
        return list(run(options).findings)


def _print_findings(findings: list[Any], stdout: Any) -> None:
    from migration_lint.reporters import Report, render
    from migration_lint.rules.base import registry

    report = Report(findings=tuple(findings), rules=registry(), files_checked=0)
    text = render("text", report)
    # The summary line speaks of files checked, which means nothing here.
    stdout.write(text.rsplit("\n\n", 1)[0] + "\n")
