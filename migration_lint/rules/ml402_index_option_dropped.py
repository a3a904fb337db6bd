"""ML402: an index created without an option a target database does not support."""

from __future__ import annotations

from collections.abc import Iterator

from migration_lint.context import MigrationContext
from migration_lint.findings import Finding, FixStep, Severity
from migration_lint.rules._portability import cases
from migration_lint.rules._shop import ORDER_INITIAL, migration
from migration_lint.rules.base import Example, Rule


def _add(index: str) -> str:
    return migration(f'    operations = [migrations.AddIndex("order", {index})]  # noqa: ML105\n')


class IndexOptionDropped(Rule):
    """Index or unique index created without an option the target ignores.

    ## What it does
    Reports `Index(include=...)` on SQLite and MySQL (a plain index), `Index(condition=...)` on
    MySQL (an index over every row), `opclasses` on SQLite and MySQL (dropped without a
    warning), an expression `Index` on MariaDB (no index at all), and `UniqueConstraint`
    opclasses on SQLite and MySQL.

    ## Why is this bad?
    The index exists but is not the one written: queries planned around it are slower on
    those targets, and a condition that kept the index small is gone. Nothing in the
    migration output says so.

    ## Use instead
    Accept it knowingly on those targets (suppress with `# noqa: ML402`), or declare the index
    in a form every target builds the same way.
    """

    code = "ML402"
    name = "index-option-dropped"
    severity = Severity.WARNING

    flagged = (
        Example(
            title="include on SQLite",
            history=(ORDER_INITIAL,),
            targets=("sqlite",),
            source=_add(
                'models.Index(fields=["reference"], include=["sku"], name="order_ref_idx")'
            ),
            line=6,
        ),
        Example(
            title="opclasses on MySQL",
            history=(ORDER_INITIAL,),
            targets=("mysql",),
            source=_add(
                'models.Index(fields=["reference"], opclasses=["varchar_pattern_ops"], name="order_ref_idx")'
            ),
        ),
    )
    accepted = (
        Example(
            title="include on PostgreSQL",
            history=(ORDER_INITIAL,),
            targets=("postgresql",),
            source=_add(
                'models.Index(fields=["reference"], include=["sku"], name="order_ref_idx")'
            ),
        ),
        Example(
            title="A plain index everywhere",
            history=(ORDER_INITIAL,),
            targets=("sqlite", "mysql", "postgresql"),
            source=_add('models.Index(fields=["reference", "sku"], name="order_ref_idx")'),
        ),
    )

    def check(self, ctx: MigrationContext) -> Iterator[Finding]:
        for case in cases(ctx):
            gone = [i for i in case.ignored if i.outcome == "degraded"]
            nothing = [i for i in case.ignored if i.outcome != "degraded"]
            if case.kind == "unique constraint":
                if nothing or not gone:
                    continue  # ML401 reports constraints that are not created at all
            elif not (gone or nothing):
                continue
            name = case.call.kwargs.get("name") or f"the {case.kind}"
            reason = (nothing or gone)[0].describe(
                "index" if case.kind == "index" else "unique index"
            )
            options = ", ".join(i.option for i in (nothing or gone))
            yield self.finding(
                ctx,
                case.top,
                f"{name!s}: {reason} ({options} ignored)",
                help=f"accept it on {case.vendor} (# noqa: ML402) or declare an index every target builds alike",
                fix=(
                    FixStep(
                        title=f"What {case.vendor} gets",
                        explanation="Check the SQL with `python manage.py sqlmigrate --database <alias>` for that database.",
                    ),
                ),
                target=case.vendor,
            )
