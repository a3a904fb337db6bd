"""Which migrations already ran, and what they were then: a git base, the lock file and the
``django_migrations`` table of ``--data-url``, each optional, loaded once per run by the first
ML2xx rule that asks (:func:`frozen`).

- git: a migration file that exists at the base commit is frozen. The base is ``--base REF`` when
  given, else the merge base of HEAD with the main branch (config ``main-branch``, else the first
  of ``origin/main``, ``main``, ``origin/master``, ``master`` that exists). Only the files
  ``git diff --name-status BASE`` lists (renames detected) are read at the base, in one
  ``git cat-file --batch``; untracked files are new.
- lock file: ``migrations.lock`` at the project root (config ``lock-file``), see
  :mod:`migration_lint.integrity.lockfile`.
- database: the rows of ``django_migrations`` read through the read-only ``--data-url``
  connection (DESIGN.md: ``--database`` is a scratch database the tool writes to).
"""

from __future__ import annotations

import fnmatch
import functools
import os
import shlex
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

from migration_lint import gitutil
from migration_lint.config import load_config
from migration_lint.context import LintContext
from migration_lint.errors import UsageError
from migration_lint.facts import MigrationFacts
from migration_lint.integrity import lockfile
from migration_lint.integrity.normal import NormalForm, Snapshot, Unreadable, normalise
from migration_lint.source.parse import parse_migration

Key = tuple[str, str]
MEMO_KEY = "integrity.frozen"
MAIN_BRANCHES = ("origin/main", "main", "origin/master", "master")
_SKIP_DIRS = frozenset(
    {"node_modules", "__pycache__", "site-packages", "venv", "env", "build", "dist", "htmlcov"}
)


def key_text(key: Key) -> str:
    return f"{key[0]}/{key[1]}"


def parse_key(text: str) -> Key:
    app, _, name = text.partition("/")
    return (app, name)


@dataclass(frozen=True)
class Baseline:
    """A migration as it was when it ran (or was released), from one source."""

    kind: str  # "git" | "lock"
    key: Key
    path: Path  # absolute: where the file was
    shown: str  # ``path`` as findings show it
    snapshot: Snapshot | None
    where: str  # "it exists at origin/main (1a2b3c4)"
    facts: MigrationFacts | None = None  # git: the facts of the applied version (fix plans)
    error: str | None = None  # git: why the applied version cannot be read
    restore: str | None = None  # a command that brings the applied version back
    moved_to: Path | None = None  # git: the file was renamed to this path

    @property
    def form(self) -> NormalForm | None:
        return self.snapshot if isinstance(self.snapshot, NormalForm) else None


@dataclass
class GitState:
    top: Path
    base: str  # the commit whose files are frozen
    name: str  # how messages name it
    ref: str
    tip: str | None  # the main branch's (or --base's) commit
    fork: str | None  # where HEAD left it
    added: set[str] = field(default_factory=set)  # paths (from top) new since the base
    modified: set[str] = field(default_factory=set)  # paths (from top) changed since the base
    _exists: dict[str, bool] = field(default_factory=dict)
    _upstream: list[Path] | None = None

    def relative(self, path: Path) -> str | None:
        try:
            return path.relative_to(self.top).as_posix()
        except ValueError:
            return None

    def frozen_paths(self, paths: Iterable[Path]) -> set[Path]:
        """Which of these files (in the work tree) exist, under that path, at the base."""
        wanted = {p: self.relative(p) for p in paths}
        unknown = [
            r
            for r in wanted.values()
            if r and r not in self._exists and r not in self.added and r not in self.modified
        ]
        if unknown:
            found = gitutil.exists_at(self.base, unknown, self.top)
            self._exists.update((r, r in found) for r in unknown)
        return {
            p
            for p, r in wanted.items()
            if r and r not in self.added and (r in self.modified or self._exists.get(r, False))
        }

    def upstream_added(self, is_migration: Callable[[Path], bool]) -> list[Path]:
        """Migration files the main branch gained after HEAD forked from it (absolute paths)."""
        if self._upstream is None:
            self._upstream = []
            if self.tip and self.fork and self.tip != self.fork:
                for rel in gitutil.added_between(self.fork, self.tip, self.top):
                    path = self.top / rel
                    if is_migration(path):
                        self._upstream.append(path)
        return self._upstream


@dataclass
class Frozen:
    """Everything the ML2xx rules know about which migrations already ran."""

    ctx: LintContext
    present: dict[Path, MigrationFacts]
    folders: dict[Path, str]
    git: GitState | None = None
    lock: lockfile.LockFile | None = None
    applied: set[Key] | None = None
    applied_where: str = ""
    baselines: list[Baseline] = field(default_factory=list)
    substitute: dict[str, str] = field(default_factory=dict)
    _by_path: dict[Path, list[Baseline]] | None = None
    _by_key: dict[Key, list[Baseline]] | None = None

    # -- questions the rules ask ---------------------------------------------------------------

    def baselines_of(self, facts: MigrationFacts) -> list[Baseline]:
        """The applied versions of the migration in this file (git first, then the lock)."""
        self.baselines_of_key(facts.key)  # builds the indexes
        assert self._by_path is not None and self._by_key is not None
        found = list(self._by_path.get(absolute(facts.path), ()))
        if not any(b.kind == "lock" for b in found):
            # A lock entry whose file moved (same app label and name) still applies.
            found += [
                b
                for b in self._by_key.get(facts.key, ())
                if b.kind == "lock" and b.path not in self.present
            ]
        return found

    def recorded(self, key: Key) -> bool:
        """Whether any source holds an applied version of the migration ``key``."""
        return bool(self.baselines_of_key(key))

    def baselines_of_key(self, key: Key) -> list[Baseline]:
        if self._by_key is None:
            self._by_path, self._by_key = {}, {}
            for b in self.baselines:
                self._by_path.setdefault(b.moved_to or b.path, []).append(b)
                self._by_key.setdefault(b.key, []).append(b)
        return self._by_key.get(key, [])

    def frozen_reason(self, facts: MigrationFacts) -> str | None:
        """Why this migration counts as already applied (None when nothing says so)."""
        for baseline in self.baselines_of(facts):
            if baseline.kind == "lock" or baseline.key == facts.key:
                return baseline.where
        if self.git is not None and absolute(facts.path) in self.git.frozen_paths(
            [absolute(facts.path)]
        ):
            return f"it exists at {self.git.name}"
        if self.applied is not None and facts.key in self.applied:
            return self.applied_where
        return None

    def frozen_many(self, migrations: Iterable[MigrationFacts]) -> dict[Key, str]:
        items = list(migrations)
        if self.git is not None:  # one git call for all of them
            self.git.frozen_paths([absolute(m.path) for m in items])
        return {m.key: reason for m in items if (reason := self.frozen_reason(m))}

    def squash_of(self, key: Key) -> Key | None:
        """The migration on disk that replaces ``key`` (now, or as it was applied)."""
        target = self.substitute.get(key_text(key))
        seen = set()
        while target and target not in seen:
            seen.add(target)
            squash = parse_key(target)
            if squash in self.ctx.history.migrations:
                return squash
            target = self.substitute.get(target)
        return None

    def is_migration_path(self, path: Path) -> bool:
        path = path.resolve() if not path.is_absolute() else path
        if path.suffix != ".py" or path.name.startswith(("_", "~")):
            return False
        if path.parent in self.folders:
            return True
        if path.parent.name != "migrations":
            return False
        try:
            relative = path.relative_to(_resolved(str(self.ctx.root)))
        except ValueError:
            return False
        return not any(p.startswith(".") or p in _SKIP_DIRS for p in relative.parts[:-1])

    def label_of(self, path: Path) -> str:
        """The app label of a migration file, present or not (its folder's, as discovery does)."""
        return self.folders.get(path.parent) or path.parent.parent.name

    def any_source(self) -> bool:
        return self.git is not None or self.lock is not None or self.applied is not None


def unchanged_since_recorded(baselines: list[Baseline], data: bytes) -> list[Baseline]:
    """``baselines`` without the lock file's records of exactly these bytes (nothing to parse)."""
    content = ""
    kept = []
    for baseline in baselines:
        entry = baseline.snapshot
        if baseline.kind == "lock" and isinstance(entry, lockfile.LockEntry) and entry.content:
            content = content or lockfile.content_digest(data)
            if content == entry.content:
                continue
        kept.append(baseline)
    return kept


@functools.lru_cache(maxsize=8)
def _resolved(directory: str) -> str:
    return str(Path(directory).resolve())


def _join(folder: Path, relative: str) -> Path:
    return Path(os.path.normpath(os.path.join(folder, relative)))


def absolute(shown: str) -> Path:
    """A path as findings show it (relative to the working directory) made absolute. Only the
    working directory is resolved: resolving thousands of paths would cost more than the check."""
    return _absolute(os.getcwd(), shown)


# The history rules ask this several times of every migration of the project.
@functools.lru_cache(maxsize=65536)
def _absolute(cwd: str, shown: str) -> Path:
    return Path(os.path.normpath(os.path.join(_resolved(cwd), shown)))


def display(path: Path) -> str:
    try:
        return str(path.relative_to(_resolved(os.getcwd())))
    except ValueError:
        return str(path)


def excluded(ctx: LintContext, app: str, name: str, path: str) -> bool:
    patterns = ctx.options.exclude if ctx.options else ()
    names = (app, f"{app}.{name}", path)
    return any(fnmatch.fnmatch(n, p) for p in patterns for n in names)


def in_scope(ctx: LintContext, app: str) -> bool:
    """Whether this run looks at the app: every app, unless paths or app labels narrowed it."""
    options = ctx.options
    if options is None or not (options.paths or options.app_labels):
        return True
    return app in options.app_labels or any(t.app_label == app for t in ctx.targets)


# ``migration-lint lock --check`` runs the rules against the lock file alone.
_ONLY: ContextVar[tuple[frozenset[str], Path | None] | None] = ContextVar(
    "migration_lint_integrity_only", default=None
)


@contextmanager
def only(kinds: Iterable[str], lock_path: Path | None = None) -> Iterator[None]:
    """Within the block, load only these sources (``git``, ``lock``, ``database``), and the
    lock file from ``lock_path`` when given."""
    token = _ONLY.set((frozenset(kinds), lock_path))
    try:
        yield
    finally:
        _ONLY.reset(token)


def frozen(ctx: LintContext) -> Frozen:
    """The run's :class:`Frozen`, loaded on first use."""
    cached = ctx.memo.get(MEMO_KEY)
    if isinstance(cached, Frozen):
        return cached
    result = _load(ctx)
    ctx.memo[MEMO_KEY] = result
    return result


# --- loading ----------------------------------------------------------------------------------


def _load(ctx: LintContext) -> Frozen:
    present: dict[Path, MigrationFacts] = {}
    for facts in [*ctx.history.migrations.values(), *ctx.targets]:
        if facts.is_migration:
            present.setdefault(absolute(facts.path), facts)
    folders = {path.parent: facts.app_label for path, facts in present.items()}
    result = Frozen(ctx, present, folders)
    config = load_config(ctx.root)
    options = ctx.options
    kinds, lock_path = _ONLY.get() or (frozenset({"git", "lock", "database"}), None)
    if "git" in kinds:
        _load_git(result, (options.main_branch if options else None) or config.get("main-branch"))
    if "lock" in kinds:
        given = options.lock_file if options and options.lock_file else None
        _load_lock(
            result, lock_path or (Path(given).resolve() if given else lock_path_for(ctx.root))
        )
    if "database" in kinds:
        _load_applied(result)
    _substitutions(result)
    if not result.any_source():
        ctx.notes.append(
            "history rules (ML2xx): no git base, no migrations.lock and no --data-url, "
            "so no migration is known to be applied"
        )
    return result


def _load_git(result: Frozen, main_branch: str | None) -> None:
    ctx = result.ctx
    since = ctx.options.since if ctx.options else None
    try:
        top = gitutil.find_toplevel(ctx.root)
    except UsageError:
        top = None
    if top is None:
        if since:
            raise UsageError(f"--base {since}: {ctx.root} is not inside a git work tree")
        ctx.notes.append("history rules: not a git work tree (or no git), so no git base")
        return
    top = top.resolve()
    head = gitutil.commit_of("HEAD", top)
    if since:
        commit = gitutil.commit_of(since, top)
        if commit is None:
            raise UsageError(f"--base: {gitutil.missing_ref_message(since, top)}")
        fork = gitutil.merge_base(head, commit, top) if head else None
        state = GitState(top, commit, f"{since} ({commit[:7]})", since, commit, fork)
    else:
        candidates = (main_branch,) if main_branch else MAIN_BRANCHES
        found = next(((r, c) for r in candidates if (c := gitutil.commit_of(r, top))), None)
        if found is None:
            ctx.notes.append(
                f"history rules: no {' / '.join(candidates)} branch here, so no git base "
                "(pass --base REF or set main-branch in [tool.migration_lint])"
            )
            return
        ref, tip = found
        if head is None:
            ctx.notes.append("history rules: HEAD has no commit yet, so no git base")
            return
        fork = gitutil.merge_base(head, tip, top)
        if fork is None:
            if gitutil.is_shallow(top):
                ctx.notes.append(
                    f"history rules: HEAD and {ref} share no commit in this shallow clone: "
                    "fetch more history (git fetch --deepen=N, or fetch-depth: 0 in CI) "
                    "or commit a lock file (migration-lint lock)"
                )
            else:
                ctx.notes.append(f"history rules: HEAD and {ref} share no commit: no git base")
            return
        state = GitState(
            top, fork, f"the merge base of HEAD and {ref} ({fork[:7]})", ref, tip, fork
        )
    result.git = state
    _git_baselines(result, state)


def _git_baselines(result: Frozen, git: GitState) -> None:
    entries: list[tuple[str, str, str]] = []
    for status, old, new in gitutil.diff_status(git.base, git.top):
        old_ok = bool(old) and result.is_migration_path(git.top / old)
        new_ok = bool(new) and result.is_migration_path(git.top / new)
        if new_ok and (status in "ACR" or not old_ok):
            git.added.add(new)
        if not old_ok or status in "AC":
            continue
        if status not in "DR":
            git.modified.add(old)
        entries.append((status, old, new if new_ok else ""))
    if not entries:
        return
    if git.fork and git.fork != git.base:
        entries = _branch_changes(result, git, entries)
    blobs = gitutil.read_blobs(git.base, [old for _, old, _ in entries], git.top)
    for status, old, new in entries:
        data = blobs.get(old)
        path = _join(git.top, old)
        shown = display(path)
        label = result.label_of(path)
        if data is None:
            continue
        facts = parse_migration(shown, data, label)
        if not facts.is_migration:
            continue  # not a migration at the base (a helper module in the folder)
        error = facts.parse_error.message if facts.parse_error else None
        form: NormalForm | None = None
        if error is None:
            try:
                form = normalise(data, keep_nodes=True)
            except Unreadable as exc:
                error = str(exc)
        if facts.parse_error:
            error = f"{facts.parse_error.message} (line {facts.parse_error.line})"
        result.baselines.append(
            Baseline(
                kind="git",
                key=facts.key,
                path=path,
                shown=shown,
                snapshot=form,
                where=f"it exists at {git.name}",
                facts=facts if error is None else None,
                error=error,
                restore=f"git checkout {git.base[:12]} -- {shlex.quote(shown)}",
                moved_to=_join(git.top, new) if status == "R" and new else None,
            )
        )


def _branch_changes(
    result: Frozen, git: GitState, entries: list[tuple[str, str, str]]
) -> list[tuple[str, str, str]]:
    """With ``--base`` ahead of where HEAD forked, keep only what this branch changed: a file the
    base gained or edited after the fork, and that HEAD never had or never touched, is not this
    branch's deletion or edit."""
    assert git.fork is not None
    at_fork = gitutil.read_blobs(git.fork, [old for _, old, _ in entries], git.top)
    kept = []
    for status, old, new in entries:
        before = at_fork.get(old)
        if before is None and status in "DR":
            continue  # added upstream after the fork: not merged here yet, not deleted
        if status == "M" and before is not None:
            try:
                if (git.top / old).read_bytes() == before:
                    continue  # edited upstream, untouched here
            except OSError:
                pass
        kept.append((status, old, new))
    return kept


def lock_path_for(root: Path) -> Path:
    """``migrations.lock`` at the project root, or config ``lock-file`` (relative to its
    pyproject.toml)."""
    config = load_config(root)
    configured = config.get("lock-file")
    if configured and config.path is not None:
        return (config.path.parent / configured).resolve()
    return (root / lockfile.FILENAME).resolve()


def _load_lock(result: Frozen, path: Path) -> None:
    ctx = result.ctx
    lock = lockfile.read(path)
    if lock is None:
        return
    from migration_lint.integrity.normal import VERSION

    if lock.normal_form != VERSION:
        ctx.notes.append(
            f"{display(path)} was written with normal form {lock.normal_form}, this "
            f"migration-lint computes {VERSION}: rerun `migration-lint lock` to use it"
        )
        return
    if lock.conflicted:
        ctx.notes.append(
            f"{display(path)} has merge conflict markers: both sides were read; "
            "run `migration-lint lock` to rewrite it"
        )
    result.lock = lock
    name = display(path)
    for entry in lock.entries.values():
        where = _join(lock.folder, entry.path)
        result.baselines.append(
            Baseline(
                kind="lock",
                key=parse_key(entry.key),
                path=where,
                shown=display(where),
                snapshot=entry,
                where=f"{name} records it",
            )
        )


def _load_applied(result: Frozen) -> None:
    ctx = result.ctx
    url = ctx.options.data_url if ctx.options else None
    if not url:
        return
    from migration_lint.data import DataSource, MissingTable

    source = DataSource(url)
    try:
        rows = applied_rows(source)
    except MissingTable:
        ctx.notes.append(
            "history rules: the --data-url database has no django_migrations table, "
            "so its applied set is not used"
        )
        return
    finally:
        source.close()
    result.applied = rows
    result.applied_where = f"the --data-url database ({source._safe_url()}) lists it as applied"
    unknown = sorted({app for app, _ in rows} - {f.app_label for f in result.present.values()})
    if unknown:
        ctx.notes.append(
            f"history rules: {len(unknown)} app labels applied in the --data-url database have "
            f"no migrations here (django.contrib, installed packages, or labels this run "
            f"derives differently): {', '.join(unknown[:8])}{' ...' if len(unknown) > 8 else ''}"
        )


def applied_rows(source: object) -> set[Key]:
    """The (app, name) rows of ``django_migrations``, through a :class:`DataSource`'s read-only
    connection."""
    rows = source._fetch("SELECT app, name FROM django_migrations")  # type: ignore[attr-defined]
    return {(str(app), str(name)) for app, name in rows}


def _substitutions(result: Frozen) -> None:
    """``app/original`` -> ``app/squash``: every squash on disk, as it is and as it was applied,
    and the squashed migrations the lock file retired."""
    history = result.ctx.history
    sub = result.substitute
    for original_key, squash_key in history.replaced_by.items():
        sub[key_text(original_key)] = key_text(squash_key)
    for baseline in result.baselines:
        if baseline.snapshot is None or not baseline.snapshot.replaces:
            continue
        current = result.present.get(baseline.moved_to or baseline.path)
        squash = current.key if current else baseline.key
        for replaced in baseline.snapshot.replaces:
            if "/" in replaced:
                sub.setdefault(replaced, key_text(squash))
    if result.lock is not None:
        for original, squashed_into in result.lock.retired.items():
            sub.setdefault(original, squashed_into)
