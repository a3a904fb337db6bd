"""What a rule is: a class with a code, a severity, a docstring, examples and a ``check``.

A rule module defines one subclass of :class:`Rule`; defining it registers it (see
:func:`registry`). Examples run as tests (``tests/test_rule_examples.py``) and render into the
rule's page (``rules/MLxxx.md``), so one class is the rule, its tests and its documentation.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from migration_lint.facts import Operation, Span
from migration_lint.findings import Finding, FixStep, Severity

if TYPE_CHECKING:
    from migration_lint.context import LintContext, MigrationContext

_CODE = re.compile(r"^ML[1-9]\d\d$")
_REGISTRY: dict[str, type[Rule]] = {}


@dataclass(frozen=True)
class Example:
    """A migration (``source``) linted after its ``history`` (earlier migrations of the app).

    Files are written as ``<app>/migrations/0001_....py`` in order; the example is the last one.
    ``line`` pins where a flagged example must be reported. ``files`` adds other files by
    relative path (for example another app's migrations). ``targets`` names the databases
    (``--target``) when the example depends on them; by default every vendor is a target.
    """

    source: str
    history: tuple[str, ...] = ()
    app_label: str = "shop"
    line: int | None = None
    files: tuple[tuple[str, str], ...] = ()
    title: str = ""
    targets: tuple[str, ...] = ()
    # Lint it in a Django project (settings loaded, SQL rendered) rather than from files alone.
    project: bool = False


class Rule:
    """Base class. Subclasses set the class attributes and implement one of the ``check`` hooks.

    ``scope = "migration"``: :meth:`check` is called once per linted migration.
    ``scope = "project"``: :meth:`check_project` is called once per run.
    """

    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity]
    scope: ClassVar[str] = "migration"
    flagged: ClassVar[tuple[Example, ...]] = ()
    accepted: ClassVar[tuple[Example, ...]] = ()

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if inspect.isabstract(cls) or "code" not in cls.__dict__:
            return
        if not _CODE.match(cls.code):
            raise TypeError(f"{cls.__name__}: rule code {cls.code!r} is not MLnnn")
        if not re.match(r"^[a-z0-9]+(-[a-z0-9]+)*$", cls.name):
            raise TypeError(f"{cls.__name__}: rule name {cls.name!r} is not kebab-case")
        if not (cls.__doc__ or "").strip():
            raise TypeError(f"{cls.__name__}: a rule needs a docstring")
        other = _REGISTRY.get(cls.code)
        if other is not None and other.__qualname__ != cls.__qualname__:
            raise TypeError(f"{cls.code} is taken by {other.__qualname__}")
        _REGISTRY[cls.code] = cls

    @classmethod
    def summary(cls) -> str:
        """The docstring's first line: what the rule reports, in one sentence."""
        return inspect.cleandoc(cls.__doc__ or "").splitlines()[0].strip()

    @classmethod
    def body(cls) -> str:
        """The docstring after its first line: ruff's sections (What it does, Why is this bad? ...)."""
        doc = inspect.cleandoc(cls.__doc__ or "")
        return doc.partition("\n")[2].strip()

    def check(self, ctx: MigrationContext) -> Iterator[Finding]:
        return iter(())

    def check_project(self, ctx: LintContext) -> Iterator[Finding]:
        return iter(())

    # -- helpers for subclasses ----------------------------------------------------------------

    def finding(
        self,
        ctx: MigrationContext,
        where: Operation | Span | None,
        message: str,
        help: str = "",
        fix: tuple[FixStep, ...] = (),
        severity: Severity | None = None,
        target: str | None = None,
        extra: dict[str, object] | None = None,
    ) -> Finding:
        """A finding on ``where`` (an operation, a span, or the migration class) of ``ctx``."""
        span = where.span if isinstance(where, Operation) else where
        if span is None:
            span = ctx.migration.class_span or Span(1, 1, 1, 1)
        return Finding(
            code=self.code,
            severity=severity or self.severity,
            path=ctx.migration.path,
            line=span.line,
            column=span.column,
            end_line=span.end_line,
            message=message,
            help=help,
            fix=fix,
            app_label=ctx.migration.app_label,
            migration=ctx.migration.name,
            target=target,
            extra=extra or {},
        )


def registry() -> dict[str, type[Rule]]:
    """Every rule, by code; importing the rule modules is what fills it."""
    from migration_lint import rules as package

    package.load_all()
    return dict(sorted(_REGISTRY.items()))
