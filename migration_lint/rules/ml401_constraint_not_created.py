"""ML401: a UniqueConstraint option that makes Django create nothing on a target database."""

from __future__ import annotations

from collections.abc import Iterator

from migration_lint.codegen import render, render_call, without
from migration_lint.context import MigrationContext
from migration_lint.facts import Call
from migration_lint.findings import Finding, FixStep, Severity
from migration_lint.rules._portability import Case, cases
from migration_lint.rules._shop import ORDER_INITIAL, migration
from migration_lint.rules.base import Example, Rule
from migration_lint.state import names


def _add(constraint: str) -> str:
    return migration(f'    operations = [migrations.AddConstraint("order", {constraint})]\n')


class ConstraintNotCreated(Rule):
    """Unique constraint that a target database silently does not get.

    ## What it does
    Reports a `UniqueConstraint` whose options make Django skip it on a target database:
    `include` and `deferrable` on SQLite and MySQL, `condition` on MySQL/MariaDB,
    `nulls_distinct` on MySQL/MariaDB and PostgreSQL before 15 (and on SQLite, where the table
    is rebuilt without it), and expressions on MariaDB. Targets are the project's DATABASES or
    `--target`; with a project loaded, the SQL Django renders for each target confirms it (a
    constraint the rendered SQL does create is not reported).

    ## Why is this bad?
    No error, no SQL, no constraint: the migration "succeeds", and the database accepts the
    duplicates the constraint was written to stop. Django's only signal is a system check
    (models.W036-W047) that 4.2 and 5.2 show only with `check --database` (Django ticket
    #34949); `opclasses` gets none at all.

    ## Use instead
    A form every target creates: a plain `UniqueConstraint` plus a separate covering `Index`
    instead of `include`; an expression constraint (`Coalesce`) instead of
    `nulls_distinct=False` where the target supports expression indexes; no `deferrable` where
    the database cannot defer.
    """

    code = "ML401"
    name = "constraint-not-created"
    severity = Severity.ERROR

    flagged = (
        Example(
            title="include on SQLite (Django ticket #34949)",
            history=(ORDER_INITIAL,),
            targets=("sqlite",),
            source=_add(
                'models.UniqueConstraint(fields=["reference"], include=["sku"], name="order_ref_uniq")'
            ),
            line=6,
        ),
        Example(
            title="A condition on MySQL",
            history=(ORDER_INITIAL,),
            targets=("mysql",),
            source=_add(
                'models.UniqueConstraint(fields=["reference"], condition=models.Q(sku__isnull=False), name="order_ref_uniq")'
            ),
        ),
        Example(
            title="nulls_distinct on SQLite rebuilds the table without it",
            history=(ORDER_INITIAL,),
            targets=("postgresql", "sqlite"),
            source=_add(
                'models.UniqueConstraint(fields=["sku"], nulls_distinct=False, name="order_sku_uniq")'
            ),
        ),
        Example(
            title="In a project: the SQL rendered for SQLite has no statement for it",
            history=(ORDER_INITIAL,),
            project=True,
            targets=("sqlite", "postgresql"),
            source=_add(
                'models.UniqueConstraint(fields=["reference"], include=["sku"], name="order_ref_uniq")'
            ),
        ),
    )
    accepted = (
        Example(
            title="In a project: nulls_distinct renders on PostgreSQL 15",
            history=(ORDER_INITIAL,),
            project=True,
            targets=("postgresql:15",),
            source=_add(
                'models.UniqueConstraint(fields=["sku"], nulls_distinct=False, name="order_sku_uniq")'
            ),
        ),
        Example(
            title="include on PostgreSQL",
            history=(ORDER_INITIAL,),
            targets=("postgresql",),
            source=_add(
                'models.UniqueConstraint(fields=["reference"], include=["sku"], name="order_ref_uniq")'
            ),
        ),
        Example(
            title="A condition on SQLite, which has partial indexes",
            history=(ORDER_INITIAL,),
            targets=("sqlite",),
            source=_add(
                'models.UniqueConstraint(fields=["reference"], condition=models.Q(sku__isnull=False), name="order_ref_uniq")'
            ),
        ),
        Example(
            title="No target named: nothing is assumed",
            history=(ORDER_INITIAL,),
            source=_add(
                'models.UniqueConstraint(fields=["reference"], include=["sku"], name="order_ref_uniq")'
            ),
        ),
    )

    def check(self, ctx: MigrationContext) -> Iterator[Finding]:
        for case in cases(ctx):
            gone = [i for i in case.ignored if i.outcome != "degraded"]
            if case.kind != "unique constraint" or not gone:
                continue
            name = case.call.kwargs.get("name")
            options = ", ".join(i.option for i in gone)
            checks = ", ".join(sorted({i.check for i in gone if i.check}))
            consequence = gone[0].describe("constraint")
            proof = " (the rendered SQL has no statement creating it)" if case.confirmed else ""
            yield self.finding(
                ctx,
                case.top,
                f"{name or 'the UniqueConstraint'!s}: with {options}, {consequence}{proof}; "
                f"duplicates will be accepted there",
                help=f"use a form {case.vendor} creates (fix plan); Django only warns with `check --database` ({checks or 'no check'})",
                fix=_plan(case),
                target=case.vendor,
            )


def _plan(case: Case) -> tuple[FixStep, ...]:
    call = case.call
    name = call.kwargs.get("name")
    name = name if isinstance(name, str) else "constraint"
    options = {i.option for i in case.ignored}
    steps: list[FixStep] = []
    if "include" in options:
        fields = call.kwargs.get("fields")
        include = call.kwargs.get("include")
        covered = (fields if isinstance(fields, tuple) else ()) + (
            include if isinstance(include, tuple) else ()
        )
        covering = Call(
            "django.db.models.Index", (), {"fields": covered, "name": f"{name[:26]}_cov"}
        )
        steps.append(
            FixStep(
                title="A plain unique constraint plus a covering index",
                explanation="Every database creates both; the index serves the index-only scans include= was for.",
                code=f"{render(without(call, 'include'))},\n{render(covering)},",
            )
        )
    if "nulls_distinct" in options:
        expressions = ", ".join(
            f'Coalesce("{f}", Value(""))' for f in names(call.kwargs.get("fields"))
        )
        steps.append(
            FixStep(
                title="Treat NULLs as equal with an expression constraint",
                explanation=(
                    "Where the database supports expression indexes (SQLite, PostgreSQL, MySQL "
                    "8.0.13+, not MariaDB), fold NULL into a value the column never holds; pick "
                    "that value for each column's type."
                ),
                code=(
                    "from django.db.models import Value\nfrom django.db.models.functions import Coalesce\n\n"
                    + render_call("django.db.models.UniqueConstraint", (), {"name": name}).replace(
                        "UniqueConstraint(", f"UniqueConstraint({expressions}, ", 1
                    )
                ),
            )
        )
    if "deferrable" in options:
        steps.append(
            FixStep(
                title="Drop deferrable where the database cannot defer",
                explanation="The constraint is then checked at each statement, which is what those databases do anyway.",
                code=render(without(call, "deferrable")),
            )
        )
    if options & {"condition", "expressions"}:
        steps.append(
            FixStep(
                title="Make the uniqueness portable",
                explanation=(
                    "MySQL has no partial indexes and MariaDB no expression indexes. A unique "
                    "constraint on a stored generated column (GeneratedField, Django 5.0+) holding "
                    "the expression, or NULL outside the condition, gives the same rule on every target."
                ),
            )
        )
    return tuple(steps)
