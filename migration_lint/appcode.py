"""Application code that calls ``get_or_create`` / ``update_or_create``: where, on which model, by what.

The ML3xx rules need every such call in the project, not only in migrations. Reading a whole
project must stay fast, so a file is parsed only when its bytes contain one of the method names
(``benchmarks/get_or_create_scan.py``: 5,000 files, a few dozen of them with calls). The rest is
never parsed at all.

Which files: when the run was given paths that are not migrations (application modules or
folders), those; otherwise (no paths, or only migration files, which is what pre-commit and the
rule examples pass) every Python file under the project root, skipping virtual environments,
hidden folders, ``site-packages`` and ``migrations`` folders. The migrations the run lints are
read too: data migrations call ``apps.get_model("app", "Model").objects.get_or_create(...)``.
Which of the calls found a run reports (all of them, or with only migration files given those
on the models the migrations touch) is the rules' business: ``rules/_get_or_create.py``.

The parse (:mod:`migration_lint.appscan`: the standard library's ``ast`` and a small scope model
of its own for qualified names, imported only when a file needs parsing and its scan is not
cached) turns each call's receiver into a :class:`Target`: a model class and a manager attribute, a related manager reached
from an instance whose model is known statically, or ``self`` inside a manager class. Which model
that is, and which fields its lookup names, is then decided against the model states
(:mod:`migration_lint.analysis.lookups`): qualified names become ``(app_label, Model)`` through
Django's app registry in project mode, or through the package folder above ``models.py``
otherwise. Calls whose model cannot be told are kept as unresolved :class:`CallSite` entries and
counted in a note (``--verbose``); nothing is guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from migration_lint.appfiles import (  # noqa: F401 - re-exported: the scan's file helpers
    METHODS,
    NEEDLES,
    application_files,
    contains_needle,
    is_migration_path,
    migration_bytes,
    module_name,
    walk_python_files,
)
from migration_lint.cache import PickleCache, digest
from migration_lint.facts import Suppression

if TYPE_CHECKING:
    from migration_lint.analysis.lookups import ModelIndex
    from migration_lint.context import LintContext


# What overriding one method quiets: the async forms call the sync ones, and update_or_create
# calls get_or_create on a queryset (``select_for_update().get_or_create``).
OVERRIDES = {
    "get_or_create": ("get_or_create", "aget_or_create"),
    "aget_or_create": ("get_or_create", "aget_or_create"),
    "update_or_create": ("update_or_create", "aupdate_or_create", "get_or_create"),
    "aupdate_or_create": ("update_or_create", "aupdate_or_create", "get_or_create"),
}


# --- facts ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelRef:
    """A model as the source names it: a qualified class name, an ``apps.get_model`` pair, or a
    swappable setting (``get_user_model()``)."""

    qualname: str = ""
    app_label: str = ""
    name: str = ""
    setting: str = ""

    def __str__(self) -> str:
        if self.qualname:
            return self.qualname
        if self.setting:
            return f"settings.{self.setting}"
        return f"{self.app_label}.{self.name}"


@dataclass(frozen=True)
class LookupValue:
    """A lookup's value: its source text and, when it is a literal, the value itself."""

    text: str
    literal: bool = False
    value: object = None

    @property
    def is_none(self) -> bool:
        return self.literal and self.value is None


@dataclass(frozen=True)
class Target:
    """What a call's receiver stands for, before the model states are known.

    ``model`` with ``manager``: ``Model.<manager>`` (``objects``, ``_default_manager``...).
    ``model`` with ``path``: an instance of ``model``, then attribute steps; the last step names
    the related manager (``ad.click_set``, ``order.customer.address_set``).
    ``manager_class``: ``self`` inside that Manager or QuerySet class.
    """

    model: ModelRef | None = None
    manager: str | None = None
    path: tuple[str, ...] = ()
    manager_class: str | None = None


@dataclass(frozen=True)
class RawCall:
    """One call as the parse saw it, before models are resolved."""

    path: Path
    line: int
    column: int
    end_line: int
    end_column: int
    method: str
    text: str
    receiver: str
    target: Target | None
    kwargs: tuple[tuple[str, LookupValue], ...]
    chain: tuple[tuple[str, LookupValue], ...] = ()
    dynamic: str = ""
    unresolved: str = ""
    noqa: tuple[Suppression, ...] = ()


@dataclass(frozen=True)
class ClassInfo:
    """A class the scanned code defines: its bases, the ORM methods it defines, its managers."""

    qualname: str
    name: str
    module: str
    bases: tuple[str, ...]
    methods: frozenset[str]
    managers: tuple[tuple[str, tuple[str, ...]], ...] = ()
    manager_like: bool = False


@dataclass(frozen=True)
class CallSite:
    """A get_or_create-family call, resolved to its model and normalised lookup.

    ``lookup`` holds the exact lookups' field names (``defaults``/``create_defaults`` dropped,
    ``__exact`` folded, ``pk``/``id`` as the primary key's name, ``<fk>_id`` as ``<fk>``, the
    filter of a queryset chain and the foreign key of a related manager joined in);
    ``operators`` the lookups that are not exact (``email__iexact``); ``none_fields`` the
    fields whose value is literally ``None``. ``unresolved`` says why the model is not known,
    ``dynamic`` why the lookup is not fully known; ``overridden`` names the manager or queryset
    class whose own method the call reaches (such calls are not judged).
    """

    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    method: str
    text: str
    app_label: str | None = None
    model: str | None = None
    lookup: tuple[str, ...] = ()
    values: Mapping[str, LookupValue] = field(default_factory=dict, compare=False, hash=False)
    none_fields: tuple[str, ...] = ()
    operators: tuple[str, ...] = ()
    via: str = "manager"
    related_field: str | None = None
    migration: tuple[str, str] | None = None
    dynamic: str = ""
    overridden: str | None = None
    unresolved: str = ""
    # The noqa comments on the call's lines (application files; the suppress stage reads
    # them, as it reads a migration's).
    noqa: tuple[Suppression, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.app_label}.{self.model}"


@dataclass(frozen=True)
class FileScan:
    path: Path
    module: str
    calls: tuple[RawCall, ...] = ()
    classes: tuple[ClassInfo, ...] = ()
    error: str = ""


def scan_source(path: Path, module: str, data: bytes) -> FileScan:
    """The calls and classes of one file, already known to contain a needle
    (:mod:`migration_lint.appscan`, imported here so that it is only loaded to parse)."""
    from migration_lint.appscan import scan_source as scan

    return scan(path, module, data)


class ScanCache(PickleCache[FileScan]):
    """Scans of the files that mention a method: a parse and a walk of the tree cost from a
    fraction of a millisecond to a few milliseconds a file, and a pre-commit run rescans every
    application file otherwise."""

    kind = "appcode"
    value_type = FileScan
    modules = frozenset({"migration_lint.appcode", "migration_lint.facts"})
    sources = ("appcode.py", "appfiles.py", "appscan.py", "pyscope.py", "facts.py")

    def scan(self, path: Path, module: str, data: bytes) -> FileScan:
        key = digest(data, module, str(path))
        found = self.get(key)
        if found is None:
            found = scan_source(path, module, data)
            self.put(key, found)
        return found


def scan_files(
    files: Iterable[Path], root: Path, cache: ScanCache | None = None
) -> tuple[list[FileScan], int]:
    """Read every file; parse only those that mention a method name. Returns (scans, files read)."""
    cache = cache or ScanCache(None)
    scans: list[FileScan] = []
    read = 0
    for path in files:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        read += 1
        if not contains_needle(data):
            continue
        scans.append(cache.scan(path, module_name(path, root), data))
    return scans, read


def scan_classes(files: Iterable[Path], root: Path, names: set[str]) -> list[ClassInfo]:
    """Classes of files that mention one of ``names`` (the models using an overriding manager)."""
    needles = [n.encode() for n in names]
    out: list[ClassInfo] = []
    for path in files:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if contains_needle(data) or not any(n in data for n in needles):
            continue  # files with needles were parsed already
        out.extend(scan_source(path, module_name(path, root), data).classes)
    return out


# --- the run -------------------------------------------------------------------------------------


def load(ctx: LintContext) -> AppCodeScan:
    """The run's application-code calls, scanned once and shared by the ML3xx rules."""
    cached = ctx.memo.get("appcode")
    if cached is None:
        from migration_lint.analysis.lookups import resolve_calls

        cached = ctx.memo["appcode"] = resolve_calls(ctx, _scan(ctx))
    return cached  # type: ignore[return-value]


@dataclass
class RawScan:
    """What the parse found, with the file lists it came from."""

    app_files: list[Path]
    scans: list[FileScan]
    migration_scans: dict[tuple[str, str], FileScan]
    files_read: int


def _scan(ctx: LintContext) -> RawScan:
    options = ctx.options
    paths = options.paths if options else ()
    cache = ScanCache(ctx.root if options is None or options.use_cache else None)
    app_files = application_files(ctx.root, paths)
    scans, read = scan_files(app_files, ctx.root, cache)
    migration_scans: dict[tuple[str, str], FileScan] = {}
    for facts in ctx.targets:
        path = Path(facts.path)
        data = migration_bytes(ctx, facts.path)
        if data is None:
            continue
        read += 1
        if contains_needle(data):
            migration_scans[facts.key] = cache.scan(
                path.resolve(), module_name(path, ctx.root), data
            )
    cache.save(fork=options is None or options.jobs != 1)
    return RawScan(app_files, scans, migration_scans, read)


@dataclass
class AppCodeScan:
    """Every call found, resolved; ``index`` answers questions about model states."""

    calls: list[CallSite]
    files_read: int
    files_parsed: int
    errors: list[str]
    index: ModelIndex | None = None
    migration_indexes: dict[tuple[str, str], ModelIndex] = field(default_factory=dict)

    def judged(self) -> list[CallSite]:
        return [c for c in self.calls if not c.unresolved and not c.overridden and not c.dynamic]
