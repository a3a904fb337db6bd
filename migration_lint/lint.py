"""The pipeline: discover -> load -> facts -> rules -> findings -> suppress. No printing here."""

from __future__ import annotations

import dataclasses
import fnmatch
import gc
import os
import pickle
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path
from typing import Any

from migration_lint import background, discover, gitutil, runcache, workers
from migration_lint.cache import FactsCache, digest
from migration_lint.context import LintContext, MigrationContext, Vendor
from migration_lint.errors import UsageError
from migration_lint.facts import MigrationFacts, ParseError
from migration_lint.findings import Finding, Severity
from migration_lint.history import UNKNOWN_STATE, build_history, replay
from migration_lint.project import ProjectInfo, load_project, project_states, resolve_settings
from migration_lint.rules.base import Rule, registry
from migration_lint.source.parse import parse_migration
from migration_lint.state import Models
from migration_lint.suppress import apply as apply_suppressions
from migration_lint.suppress import apply_application, matches

ALL_VENDORS: tuple[Vendor, ...] = (("postgresql", None), ("mysql", None), ("sqlite", None))
_ROOT_MARKERS = ("manage.py", "pyproject.toml", "setup.cfg", ".git")


@dataclass(frozen=True)
class Options:
    paths: tuple[str, ...] = ()
    app_labels: tuple[str, ...] = ()
    root: Path | None = None
    settings: str | None = None
    source_only: bool = False
    since: str | None = None
    select: tuple[str, ...] = ("ML",)
    ignore: tuple[str, ...] = ()
    severities: dict[str, Severity] = field(default_factory=dict)
    exclude: tuple[str, ...] = ()
    vendors: tuple[Vendor, ...] = ()
    use_cache: bool = True
    data_url: str | None = None
    database_url: str | None = None
    verbose: bool = False
    explain: bool = False
    main_branch: str | None = None
    lock_file: str | None = None
    # Processes for a cold run's parsing and rules; 0: as many as there are cores.
    jobs: int = 0


@dataclass
class Result:
    findings: list[Finding]
    rules: dict[str, type[Rule]]
    files_checked: int
    notes: list[str] = field(default_factory=list)
    explained: list[str] = field(default_factory=list)
    # What the run built (facts, history, table states), with ``run(keep_context=True)``;
    # None when the results cache answered.
    context: LintContext | None = field(default=None, repr=False, compare=False)


def find_root(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` that looks like a project's top."""
    start = start if start.is_dir() else start.parent
    for directory in (start, *start.parents):
        if any((directory / marker).exists() for marker in _ROOT_MARKERS):
            return directory
    return None


def display_path(path: Path, cwd: Path) -> str:
    text, base = str(path), str(cwd)
    # A prefix test first: pathlib's relative_to parses both paths again, for every file of
    # the run. Where paths may differ in case (Windows), pathlib decides.
    prefix = base if base.endswith(os.sep) else base + os.sep
    if os.name == "posix" and text.startswith(prefix):
        return text[len(prefix) :]
    try:
        return str(path.relative_to(cwd))
    except ValueError:
        return text


def selected_rules(options: Options) -> dict[str, type[Rule]]:
    return {
        code: rule
        for code, rule in registry().items()
        if matches(code, options.select) and not matches(code, options.ignore)
    }


class _Read:
    """A file of the run and its bytes, read on first use: by this process, or by the forked
    child that parses it (a first run reads every file in the processes that parse them)."""

    def __init__(self, file: discover.MigrationFile, shown: str) -> None:
        self.file = file
        self.shown = shown
        self._data: bytes | None = None
        self._error = ""
        self._read = False

    def _load(self) -> None:
        if not self._read:
            self._read = True
            try:
                self._data = read_bytes(self.file.path)
            except OSError as exc:
                # One unreadable file must not stop the run: it is reported where it is linted
                # (ML901).
                self._error = f"cannot be read: {exc.strerror}"

    @property
    def data(self) -> bytes | None:
        self._load()
        return self._data

    @property
    def error(self) -> str:
        self._load()
        return self._error

    @cached_property
    def digest(self) -> bytes:
        # Asked for the results key, the cache lookup and the cache write: hashed once.
        return digest(self.data or self.error.encode(), self.file.app_label, self.shown)


def read_bytes(path: Path) -> bytes:
    """The file's bytes, read without a buffered file object: half the time of
    ``Path.read_bytes`` for a migration-sized file (3,000 of them start every run)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def read_files(files: list[discover.MigrationFile], cwd: Path) -> list[_Read]:
    """The run's files, to be read when first asked for."""
    return [_Read(file, display_path(file.path, cwd)) for file in files]


def load_facts(
    read: list[_Read],
    cache: FactsCache,
    jobs: int = 1,
    meanwhile: Callable[[], object] | None = None,
) -> list[MigrationFacts]:
    """Every file's facts, from the cache or parsed; ``meanwhile`` runs in this process while
    forked children parse.

    With no cache file to look in (a first run), nothing is read before the children start:
    each process reads the files it parses. ``meanwhile`` reads them all here too (the run
    needs their bytes and digests); a file whose bytes changed in between is parsed again here,
    so that the facts and the digests they are cached under come from the same bytes."""
    facts: list[MigrationFacts | None] = [None] * len(read)
    todo = list(range(len(read)))
    if cache.entries:
        todo = []
        for index, item in enumerate(read):
            cached = cache.get(item.digest) if item.data is not None else None
            if cached is None:
                todo.append(index)
            facts[index] = cached
    keep = cache.keeps

    def parse(piece: range) -> _Parsed:
        out, digests = [], []
        for index in piece:
            item = read[todo[index]]
            out.append(_parse(item))
            # Of the bytes parsed, or of the error that kept the file from being read.
            digests.append(item.digest)
        # Pickled for the cache by the process that parsed them, while the others parse too.
        dumped = [pickle.dumps(f, protocol=pickle.HIGHEST_PROTOCOL) for f in out] if keep else []
        return _Parsed(out, dumped, digests)

    # A file takes about 0.3 ms: below a few hundred, a fork costs more than it saves.
    pieces = workers.chunks(len(todo), jobs, smallest=128)
    done = workers.run([partial(parse, p) for p in pieces], jobs, meanwhile)
    for piece, parsed in zip(pieces, done, strict=True):
        for offset, index in enumerate(piece):
            item = read[todo[index]]
            parsed_digest = parsed.digests[offset]
            if parsed_digest != item.digest:
                # Changed since the child read it: parsed again from the bytes read here.
                facts[todo[index]] = found = _parse(item)
                if keep and item.data is not None:
                    cache.put(item.digest, found)
                continue
            facts[todo[index]] = parsed.facts[offset]
            # An unreadable file is reported, not remembered.
            if keep and item.data is not None:
                cache.put_pickled(parsed_digest, parsed.pickled[offset])
    return facts  # type: ignore[return-value]


def _parse(item: _Read) -> MigrationFacts:
    file = item.file
    if item.data is None:
        return MigrationFacts(
            path=item.shown,
            app_label=file.app_label,
            name=file.name,
            parse_error=ParseError(item.error, 1, 1),
        )
    return parse_migration(item.shown, item.data, file.app_label, file.module)


class _Parsed:
    """A parse unit's facts, the digests of the bytes it parsed, and (when the cache keeps
    them) each fact pickled. A forked child sends the pickles, not the facts: they are what
    the cache keeps, and the facts are made from them."""

    def __init__(
        self, facts: list[MigrationFacts], pickled: list[bytes], digests: list[bytes]
    ) -> None:
        self.facts = facts
        self.pickled = pickled
        self.digests = digests

    def __reduce__(self) -> tuple[object, ...]:
        if self.pickled:
            return (_parsed_from, (self.pickled, self.digests))
        return (_Parsed, (self.facts, [], self.digests))


def _parsed_from(pickled: list[bytes], digests: list[bytes]) -> _Parsed:
    # Written a moment ago by our own fork, like the units it ran.
    return _Parsed([pickle.loads(p) for p in pickled], pickled, digests)


def _universe(options: Options, cwd: Path) -> tuple[Path | None, list[discover.MigrationFile]]:
    """Every migration file the history is built from, and the root it was found under."""
    first = Path(options.paths[0]) if options.paths else cwd
    root = options.root or find_root(first.resolve() if first.exists() else cwd)
    files = discover.find_all(root) if root else []
    if not root:
        for raw in options.paths:
            path = Path(raw).resolve()
            if path.is_dir():
                files.extend(discover.find_all(path))
    # A linted file always brings its own app's folder (a pre-commit run passes one file).
    seen = {f.path for f in files}
    for raw in options.paths:
        path = Path(raw).resolve()
        if path.is_file() and path not in seen:
            label = discover.app_label_for(path)
            for sibling in discover.migration_files(path.parent, label):
                if sibling.path not in seen:
                    files.append(sibling)
                    seen.add(sibling.path)
    return root, files


def _excluded(facts: MigrationFacts, patterns: tuple[str, ...]) -> bool:
    names = (facts.app_label, f"{facts.app_label}.{facts.name}", facts.path)
    return any(fnmatch.fnmatch(n, p) for p in patterns for n in names)


def _project(options: Options, cwd: Path) -> ProjectInfo | None:
    if options.source_only:
        if options.app_labels:
            raise UsageError("app labels need a Django project; drop --source-only or pass paths")
        return None
    start = Path(options.paths[0]).resolve() if options.paths else cwd
    found = resolve_settings(options.settings, start)
    if found is None:
        if options.app_labels:
            raise UsageError(
                f"{options.app_labels[0]!r} is not a path, and app labels need a Django project: "
                "pass --settings, set DJANGO_SETTINGS_MODULE or run inside a project with manage.py"
            )
        return None
    return load_project(*found)


def _select(
    options: Options, project: ProjectInfo | None, universe: list[discover.MigrationFile]
) -> list[discover.MigrationFile]:
    if options.app_labels:
        assert project is not None
        known = sorted({f.app_label for f in project.files})
        unknown = [label for label in options.app_labels if label not in known]
        if unknown:
            raise UsageError(
                f"unknown app label {unknown[0]!r} (apps with migrations: {', '.join(known)})"
            )
        selected = [f for f in universe if f.app_label in options.app_labels]
        if options.paths:
            selected += discover.select_paths(options.paths, universe)
        return selected
    if options.paths:
        return discover.select_paths(options.paths, universe)
    if project is not None:
        return [f for f in universe if f.app_label in project.local_apps]
    return list(universe)


def run(options: Options, keep_context: bool = False) -> Result:
    """Lint as ``options`` say. ``keep_context``: the result keeps what the run built, for a
    caller that wants it, or that exits right after without freeing it (the CLI: freeing it
    takes 0.15 s on the benchmark corpus)."""
    # The run allocates hundreds of thousands of small, long-lived objects (facts, states) and
    # makes no reference cycles worth collecting: the cyclic collector's full passes over them
    # cost a fifth of a cold run and free nothing (benchmarks/source_lint.py).
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _run(options, keep_context)
    finally:
        if enabled:
            gc.enable()


def _run(options: Options, keep_context: bool) -> Result:
    # The caches an earlier run in this process is still writing.
    background.wait()
    cwd = Path(os.getcwd())
    project = _project(options, cwd)
    if project is not None:
        root: Path | None = project.root
        universe = list(project.files)
    else:
        root, universe = _universe(options, cwd)
    targets_files = _select(options, project, universe)
    if options.since:
        changed = gitutil.changed_files(options.since, root or cwd)
        targets_files = [f for f in targets_files if f.path in changed]

    target_paths = {f.path for f in targets_files}
    known_paths = {u.path for u in universe}
    extra = [f for f in targets_files if f.path not in known_paths]
    files = [*universe, *extra]
    read = read_files(files, cwd)
    keyed = _keyed(options, project, root)
    key: bytes | None = None
    if keyed and runcache.stored(root):  # type: ignore[arg-type]
        key = _result_key(options, root, cwd, read, target_paths)  # type: ignore[arg-type]
        hit = runcache.load(root, key)  # type: ignore[arg-type]
        if hit is not None:
            found, checked, cached_notes = hit
            return Result(list(found), registry(), checked, list(cached_notes))  # type: ignore[arg-type]
    cache = FactsCache(root if options.use_cache else None)

    def meanwhile() -> None:
        # While a forked child parses: the rule modules are imported, every file is read
        # (where not yet) and hashed, for the caches and to check what a child parsed (see
        # load_facts), and on a first run (no results yet to look up) the key is made.
        nonlocal key
        registry()
        for item in read:
            item.digest  # noqa: B018 - read and hashed here, kept by the item
        if keyed and key is None:
            key = _result_key(options, root, cwd, read, target_paths)  # type: ignore[arg-type]

    # Parsing is plain Python over bytes: safe to fork for, with a project loaded or not.
    jobs = options.jobs or workers.available()
    all_facts = load_facts(read, cache, jobs, meanwhile=meanwhile)
    cache.save(fork=jobs > 1)
    rules = selected_rules(options)

    names_on_disk: dict[str, set[str]] = defaultdict(set)
    for facts in all_facts:
        names_on_disk[facts.app_label].add(facts.name)
    history = build_history(all_facts, names_on_disk)

    by_path = {f.path: facts for f, facts in zip(files, all_facts, strict=True)}
    targets = tuple(
        by_path[p]
        for p in sorted(target_paths, key=lambda p: (by_path[p].app_label, by_path[p].name))
        if by_path[p].is_migration and not _excluded(by_path[p], options.exclude)
    )
    keys = {t.key for t in targets if t.parse_error is None}
    states = project_states(project, history.migrations, keys) if project else None
    notes: list[str] = []
    # Shared with the rules: what the run read of each file (the application-code scan looks
    # for get_or_create in the linted migrations), and the replay's models at the end of the
    # history (source mode).
    memo: dict[str, object] = {"sources": {r.shown: r.data for r in read if r.data is not None}}
    if states is None:
        if project is not None and project.graph_error:
            notes.append(
                f"Django could not build the migration graph ({project.graph_error}); "
                "table state was replayed from the files instead"
            )
        end: Models = {}
        states = replay(history, keys, end)
        memo["models_at_end"] = end
    # Without a project nothing says which databases run these migrations: judge for all.
    vendors = options.vendors or (project.vendors() if project else ()) or ALL_VENDORS
    lint = LintContext(
        root=root or cwd,
        history=history,
        targets=targets,
        states=states,
        vendors=vendors,
        vendors_known=vendors is not ALL_VENDORS,
        project=project,
        notes=notes,
        options=options,
        memo=memo,
    )
    output = run_rules(lint, rules, rule_jobs(options, project), pickled=key is not None)
    findings = apply_suppressions(
        output.findings, {t.path: t for t in targets}, options.select, options.ignore
    )
    findings = apply_application(findings, output.commented_calls, options.select, options.ignore)
    explained: list[str] = []
    if options.database_url or options.explain:
        if project is None:
            raise UsageError(
                "--database and --explain render SQL, which needs a Django project (--settings)"
            )
        # Imported here: the SQL, its locks and the data checks need a project, and a
        # source-only run (pre-commit) should not import them.
        from migration_lint.explain import attach_locks, explain

        rendering = lint.rendering()
        if rendering is not None:
            findings = attach_locks(findings, rendering)
            explained = explain(lint, rendering) if options.explain else []
    if options.data_url:
        from migration_lint.data import DataSource, annotate

        source = DataSource(options.data_url)
        try:
            findings = annotate(findings, source)
        finally:
            source.close()
    findings = [_with_severity(f, options.severities) for f in findings]
    findings.sort(key=lambda f: f.sort_key)
    if key is not None:
        assert root is not None  # a run without a root has no key
        runcache.save(root, key, output, findings, len(targets), lint.notes)
    # Some memo values refer back to the context (the ML2xx rules' view of what ran): left in
    # place, that cycle would keep the run's facts, history and states alive until the
    # collector's next full pass, which enabling it again in run() causes at once (0.3-0.5 s
    # on the benchmark corpus); without it, they go here or with the result.
    lint.memo.clear()
    kept = lint if keep_context else None
    return Result(findings, registry(), len(targets), lint.notes, explained, kept)


def rule_jobs(options: Options, project: ProjectInfo | None) -> int:
    """Processes for the rules. Forked workers only without a project: a loaded Django may hold
    threads and connections, and its rules share one SQL rendering that every process would
    otherwise redo, whatever ``--jobs`` says."""
    if project is not None:
        return 1
    return options.jobs or workers.available()


def _keyed(options: Options, project: ProjectInfo | None, root: Path | None) -> bool:
    """Whether the run's result is cached: not when it depends on more than files."""
    external = options.since or options.data_url or options.database_url or options.explain
    return bool(options.use_cache and project is None and root is not None and not external)


def _result_key(
    options: Options, root: Path, cwd: Path, read: list[_Read], targets: set[Path]
) -> bytes:
    """The key of the whole run's result (a run that is ``_keyed``)."""
    digests = [item.digest + (b"T" if item.file.path in targets else b"") for item in read]
    return runcache.run_key(
        root,
        # The number of processes changes how the result is computed, not what it is.
        (dataclasses.replace(options, jobs=0), str(cwd)),
        digests,
        app_code=_reads_app_code(options),
        extra_files=sorted(root.glob("*.lock")),
    )


def _reads_app_code(options: Options) -> bool:
    """Whether a rule that reads application code (ML3xx) may run, from the selection alone:
    the key is made before the rule modules are imported. A False here would serve results
    that ignored an edited view; a True where no such rule runs only costs a miss."""
    selected = any(s.startswith("ML3") or "ML3".startswith(s) for s in options.select)
    return selected and not matches("ML3", options.ignore)


@dataclass
class RulesOutput:
    findings: list[Finding]
    notes: list[str]
    # The scanned get_or_create calls that carry a ``noqa`` comment: their suppress stage.
    commented_calls: list[Any] = field(default_factory=list)
    # ``findings`` pickled, for the results cache, in the order they are joined: a unit pickles
    # its own while the other processes work, instead of the run pickling all of them at its end.
    pickled: list[bytes] = field(default_factory=list)

    def __reduce__(self) -> tuple[object, ...]:
        # Sent by a forked worker: the findings go once, as the pickle the cache keeps.
        if len(self.pickled) == 1:
            return (_from_pickled, (self.pickled[0], self.notes, self.commented_calls))
        return (RulesOutput, (self.findings, self.notes, self.commented_calls, self.pickled))


def _from_pickled(pickled: bytes, notes: list[str], calls: list[Any]) -> RulesOutput:
    # Written a moment ago by our own fork, like the units it ran.
    return RulesOutput(pickle.loads(pickled), notes, calls, [pickled])


def run_rules(
    lint: LintContext, rules: dict[str, type[Rule]], jobs: int = 1, pickled: bool = False
) -> RulesOutput:
    """Every rule over the run. With ``jobs`` > 1, the project rules (one unit: they share the
    application-code scan) and pieces of the linted migrations are spread over processes.
    ``pickled``: each unit pickles its findings too (for the results cache)."""
    instances = [rule() for rule in rules.values()]
    per_migration = [rule for rule in instances if rule.scope == "migration"]
    per_project = [rule for rule in instances if rule.scope == "project"]

    def output(findings: list[Finding], start: int, calls: list[Any] | None = None) -> RulesOutput:
        dumped = [pickle.dumps(findings, protocol=pickle.HIGHEST_PROTOCOL)] if pickled else []
        return RulesOutput(findings, _taken(lint.notes, start), calls or [], dumped)

    def migrations(piece: range) -> RulesOutput:
        start = len(lint.notes)
        findings: list[Finding] = []
        for index in piece:
            facts = lint.targets[index]
            ctx = MigrationContext(facts, lint.states.get(facts.key, UNKNOWN_STATE), lint)
            for rule in per_migration:
                findings.extend(rule.check(ctx))
        return output(findings, start)

    def project() -> RulesOutput:
        start = len(lint.notes)
        findings = [f for rule in per_project for f in rule.check_project(lint)]
        scan = lint.memo.get("appcode")
        calls = [c for c in scan.calls if c.noqa] if scan is not None else []  # type: ignore[attr-defined]
        return output(findings, start, calls)

    pieces = workers.chunks(len(lint.targets), jobs, smallest=64) if per_migration else []
    # The project unit first: it is the longest, and must not be left to run alone at the end.
    units: list[Callable[[], RulesOutput]] = [project, *(partial(migrations, p) for p in pieces)]
    # One piece of migrations is too little to share (a pre-commit run): no fork for it.
    done = workers.run(units, jobs if len(pieces) > 1 else 1)
    out = RulesOutput([], [])
    for part in (*done[1:], done[0]):  # the order of a run with one job
        out.findings.extend(part.findings)
        out.notes.extend(part.notes)
        out.commented_calls.extend(part.commented_calls)
        out.pickled.extend(part.pickled)
    lint.notes.extend(out.notes)
    return out


def _taken(notes: list[str], start: int) -> list[str]:
    """The notes a unit added, removed from the run's list: they go back in the units' order."""
    added = notes[start:]
    del notes[start:]
    return added


def _with_severity(finding: Finding, overrides: dict[str, Severity]) -> Finding:
    # The longest matching prefix wins: ML1 = warning, ML101 = error.
    for code in sorted(overrides, key=len, reverse=True):
        if finding.code.startswith(code):
            return finding.with_severity(overrides[code])
    return finding
