"""The command line: ``migration-lint [PATH | APP_LABEL ...]`` and ``migration-lint rule ML101``.

Exit codes: 0 clean, 1 findings at or above ``--fail-on``, 2 usage, configuration or internal
errors (one line on stderr; a traceback only with ``--debug``).
"""

from __future__ import annotations

import argparse
import atexit
import gc
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from migration_lint import __version__
from migration_lint.config import (
    Config,
    load_config,
    parse_codes,
    parse_severities,
    parse_targets,
)
from migration_lint.errors import UsageError
from migration_lint.findings import Severity

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2

# What a run built, left for the process's exit to drop (see ``entry``).
_KEPT: list[object] = []


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    from migration_lint.reporters import FORMATS

    parser = _Parser(
        prog="migration-lint",
        description="Lint Django migrations for blocking locks, failing constraints and edited history.",
        epilog="Also: `migration-lint rule ML101` prints a rule's page.",
    )
    parser.add_argument(
        "targets", nargs="*", metavar="PATH | APP_LABEL", help="files, folders or app labels"
    )
    parser.add_argument(
        "--settings", help="Django settings module (else DJANGO_SETTINGS_MODULE, else manage.py)"
    )
    parser.add_argument(
        "--source-only", action="store_true", help="never load Django; lint the files alone"
    )
    parser.add_argument(
        "--target", action="append", metavar="VENDOR[:VER],...", help="sqlite, postgresql, mysql"
    )
    parser.add_argument(
        "--base",
        "--since",
        dest="since",
        metavar="REF",
        help="lint what changed since this git ref",
    )
    parser.add_argument(
        "--main-branch",
        metavar="REF",
        help="the branch whose merge base marks migrations as applied (default: origin/main, main ...)",
    )
    parser.add_argument(
        "--lock-file",
        metavar="FILE",
        help="the lock file of applied migrations (default: migrations.lock)",
    )
    parser.add_argument(
        "--database",
        metavar="URL",
        help="a scratch database the tool may write to (never one with real data)",
    )
    parser.add_argument(
        "--data-url",
        metavar="URL",
        help="read-only connection to real data: duplicate counts, table sizes, applied migrations",
    )
    parser.add_argument(
        "--select", action="append", metavar="CODES", help="rule codes or prefixes to run"
    )
    parser.add_argument(
        "--ignore", action="append", metavar="CODES", help="rule codes or prefixes to skip"
    )
    parser.add_argument(
        "--severity", action="append", metavar="CODE=LEVEL", help="override a rule's severity"
    )
    parser.add_argument(
        "--exclude", action="append", metavar="GLOB", help="apps, app.migration or paths to skip"
    )
    parser.add_argument(
        "--fail-on",
        choices=("error", "warning", "info"),
        help="exit 1 at this severity (default error)",
    )
    parser.add_argument(
        "--baseline",
        metavar="FILE",
        help="report only findings this baseline file does not already hold",
    )
    parser.add_argument(
        "--write-baseline",
        metavar="FILE",
        help="write every current finding to FILE (accepting them) and exit 0",
    )
    parser.add_argument("--format", choices=FORMATS, help="output format (default text)")
    parser.add_argument(
        "--no-cache", action="store_true", help="do not read or write .migration_lint_cache"
    )
    parser.add_argument(
        "--jobs",
        "-j",
        type=int,
        metavar="N",
        help="processes for parsing and rules on a large cold run (default: one per core)",
    )
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    parser.add_argument(
        "--explain",
        action="store_true",
        help="print each migration's SQL per target (and its locks)",
    )
    parser.add_argument(
        "--verbose", "-v", action="store_true", help="also print notes about the run"
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    parser.add_argument("--version", action="version", version=f"migration-lint {__version__}")
    return parser


def _list(cli: list[str] | None, config: Config, key: str) -> list[str]:
    if cli:
        return cli
    value: Any = config.get(key, [])
    return [str(v) for v in value]


def _use_color(choice: str) -> bool:
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return sys.stdout.isatty()


def _split_targets(targets: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Existing paths are paths; bare identifiers are app labels; anything else is a bad path."""
    paths: list[str] = []
    labels: list[str] = []
    for target in targets:
        if os.path.exists(target) or not target.isidentifier():
            paths.append(target)
        else:
            labels.append(target)
    return tuple(paths), tuple(labels)


def run_lint(args: argparse.Namespace, stdout: Any, exiting: bool = False) -> int:
    from migration_lint.lint import Options, run
    from migration_lint.reporters import Report, render

    first = (
        Path(args.targets[0]) if args.targets and os.path.exists(args.targets[0]) else Path.cwd()
    )
    config = load_config(first if first.is_dir() else first.parent)
    paths, labels = _split_targets(args.targets)
    severities = parse_severities(config.get("severity", {}))
    for item in args.severity or ():
        code, sep, level = item.partition("=")
        if not sep:
            raise UsageError(f"--severity: expected CODE=LEVEL, got {item!r}")
        severities.update(parse_severities({code: level}))
    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs: expected a number of processes of 1 or more, got {args.jobs}")
    options = Options(
        paths=paths,
        app_labels=labels,
        settings=args.settings or config.get("settings"),
        source_only=args.source_only,
        since=args.since or config.get("base"),
        select=parse_codes(_list(args.select, config, "select"), "--select") or ("ML",),
        ignore=parse_codes(_list(args.ignore, config, "ignore"), "--ignore"),
        severities=severities,
        exclude=tuple(_list(args.exclude, config, "exclude")),
        vendors=parse_targets(_list(args.target, config, "target")),
        use_cache=not args.no_cache and config.get("cache", True),
        data_url=args.data_url,
        database_url=args.database,
        verbose=args.verbose,
        explain=args.explain,
        main_branch=args.main_branch or config.get("main-branch"),
        lock_file=args.lock_file or config.get("lock-file"),
        jobs=args.jobs or 0,
    )
    try:
        fail_on = Severity.parse(args.fail_on or config.get("fail-on", "error"))
    except ValueError as exc:
        raise UsageError(f"fail-on: {exc}") from None
    fmt = args.format or config.get("format", "text")
    from migration_lint.reporters import FORMATS

    if fmt not in FORMATS:
        raise UsageError(f"format: unknown format {fmt!r} (choose from {', '.join(FORMATS)})")

    # A process that exits right after never frees what the run built (``entry``): the
    # result keeps it, and is kept itself past this function's return.
    result = run(options, keep_context=exiting)
    if exiting:
        _KEPT.append(result)
    if args.write_baseline:
        from migration_lint import baseline

        written = baseline.write(Path(args.write_baseline), result.findings)
        print(f"migration-lint: wrote {written} findings to {args.write_baseline}", file=sys.stderr)
        return EXIT_CLEAN
    baseline_file = args.baseline or config.get("baseline")
    if baseline_file:
        from migration_lint import baseline

        path = Path(baseline_file)
        if not args.baseline and config.path is not None:
            path = config.path.parent / path  # relative to pyproject.toml
        result.findings, unused = baseline.apply(path, result.findings)
        if unused:
            result.notes.append(
                f"{unused} baseline entries in {baseline_file} match nothing any more; "
                f"refresh it with --write-baseline {baseline_file}"
            )
    report = Report(
        findings=tuple(result.findings),
        rules=result.rules,
        files_checked=result.files_checked,
        color=fmt == "text" and _use_color(args.color),
        root=str(Path.cwd()),
    )
    stdout.write(render(fmt, report))
    stdout.flush()
    if result.explained and fmt == "text":
        stdout.write("\n" + "\n".join(result.explained) + "\n")
    if args.verbose:
        for note in result.notes:
            print(f"migration-lint: note: {note}", file=sys.stderr)
    return EXIT_FINDINGS if any(f.severity >= fail_on for f in result.findings) else EXIT_CLEAN


def run_rule_page(argv: Sequence[str], stdout: Any) -> int:
    from migration_lint.docs import render_page
    from migration_lint.rules.base import registry

    if len(argv) != 1:
        raise UsageError("usage: migration-lint rule CODE")
    code = argv[0].upper()
    rules = registry()
    if code not in rules:
        raise UsageError(f"unknown rule {argv[0]!r} (known: {', '.join(rules)})")
    stdout.write(render_page(rules[code]))
    return EXIT_CLEAN


def run_lock(argv: Sequence[str], stdout: Any) -> int:
    from migration_lint.integrity.command import main as lock_main

    return lock_main(argv, stdout)


# ``migration-lint NAME ...``: each takes the remaining arguments and stdout, returns the exit code.
SUBCOMMANDS = {"rule": run_rule_page, "lock": run_lock}


def main(argv: Sequence[str] | None = None, stdout: Any = None, exiting: bool = False) -> int:
    """The command; ``exiting``: the process ends right after, through ``os._exit``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    stdout = stdout or sys.stdout
    debug = "--debug" in argv
    try:
        if argv and argv[0] in SUBCOMMANDS:
            return SUBCOMMANDS[argv[0]](argv[1:], stdout)
        args = build_parser().parse_args(argv)
        return run_lint(args, stdout, exiting)
    except UsageError as exc:
        print(f"migration-lint: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else EXIT_CLEAN
    except KeyboardInterrupt:
        print("migration-lint: interrupted", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - the promise is one line, not a traceback
        if debug:
            traceback.print_exc()
        else:
            print(
                f"migration-lint: internal error: {type(exc).__name__}: {exc} (run with --debug for details)",
                file=sys.stderr,
            )
        return EXIT_ERROR


def entry() -> NoReturn:
    """The console script and ``python -m migration_lint``: :func:`main`, then a quick exit.

    A cold lint leaves hundreds of thousands of objects behind it (kept by its result), and
    the process ends right after printing. A normal exit would have the collector traverse
    them all and free them one by one: 0.3-0.4 s on the benchmark corpus, for memory the
    operating system takes back at once anyway. So the collector stays off, and the process
    leaves through ``os._exit`` once output is flushed and the exit handlers (the cache
    writers' wait among them) have run."""
    gc.disable()
    code = main(exiting=True)
    # CPython's own runner of the exit handlers; elsewhere, an ordinary exit runs them.
    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    if run_exit_handlers is None:
        sys.exit(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:  # a reader that went away (``| head``): nothing more can be shown
        pass
    run_exit_handlers()
    os._exit(code)
