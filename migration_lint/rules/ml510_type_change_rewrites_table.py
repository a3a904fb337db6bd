"""ML510: a column type change that makes PostgreSQL rewrite the whole table."""

from __future__ import annotations

from collections.abc import Iterator

from migration_lint.analysis.builds import postgres_locks_apply
from migration_lint.analysis.builds import new_field
from migration_lint.analysis.deploy import (
    db_steps,
    existing_model,
    op_is,
    pg_type,
    referencing,
    rewrites,
)
from migration_lint.context import MigrationContext
from migration_lint.deploy_plans import type_change
from migration_lint.findings import Finding, Severity
from migration_lint.rules._deploy import SHOP_INITIAL, operations
from migration_lint.rules.base import Example, Rule


class TypeChangeRewritesTable(Rule):
    """Column type change that rewrites the table under a lock that stops all traffic.

    ## What it does
    On PostgreSQL, reports an `AlterField` on a table that existed before the migration when the
    column's type changes in a way that rewrites the table: `smallint`/`integer`/`bigint` to
    one another (`IntegerField` to `BigIntegerField`, `AutoField` to `BigAutoField`), a shorter
    `max_length`, `TextField` to `CharField`, a `DecimalField` whose scale changes or whose
    precision shrinks, and any change between unrelated types. Changes PostgreSQL makes in the
    catalog only are not reported: a longer `max_length`, `CharField` to `TextField`, a larger
    `max_digits` with the same `decimal_places`, and a field class that keeps the column type
    (`CharField(max_length=254)` to `EmailField()`). Fields whose column type it cannot know
    (third-party fields) are not reported either.

    ## Why is this bad?
    `ALTER COLUMN ... TYPE` takes an ACCESS EXCLUSIVE lock (no reads, no writes) and, for these
    changes, copies every row into a new file and rebuilds every index of the table before the
    lock is released; a primary key change rewrites the tables whose foreign keys point at it
    too. The cast can also fail on existing values half way through.

    ## Use instead
    For a shorter text: keep the column as it is and add `CHECK (char_length(col) <= n) NOT
    VALID`, then `VALIDATE CONSTRAINT`, with the `AlterField` in Django's state only. For other
    types: add a new column, copy the values in batches, switch the code, drop the old column.
    """

    code = "ML510"
    name = "type-change-rewrites-table"
    severity = Severity.ERROR

    flagged = (
        Example(
            title="integer to bigint",
            history=(SHOP_INITIAL,),
            source=operations(
                'migrations.AlterField("client", "orders_count", models.BigIntegerField(default=0))'
            ),
            line=7,
        ),
        Example(
            title="A shorter max_length",
            history=(SHOP_INITIAL,),
            source=operations(
                'migrations.AlterField("client", "name", models.CharField(max_length=50))'
            ),
        ),
        Example(
            title="A decimal scale change",
            history=(SHOP_INITIAL,),
            source=operations(
                'migrations.AlterField("order", "total", models.DecimalField(max_digits=10, decimal_places=3))'
            ),
        ),
    )
    accepted = (
        Example(
            title="A longer max_length: varchar(100) to varchar(200)",
            history=(SHOP_INITIAL,),
            source=operations(
                'migrations.AlterField("client", "name", models.CharField(max_length=200))'
            ),
        ),
        Example(
            title="CharField to TextField: varchar to text",
            history=(SHOP_INITIAL,),
            source=operations('migrations.AlterField("client", "name", models.TextField())'),
        ),
        Example(
            title="A new field class with the same column type",
            history=(SHOP_INITIAL,),
            source=operations(
                'migrations.AlterField("client", "email", models.CharField(max_length=254, null=True))'
            ),
        ),
        Example(
            title="More digits, same scale",
            history=(SHOP_INITIAL,),
            source=operations(
                'migrations.AlterField("order", "total", models.DecimalField(max_digits=14, decimal_places=2))'
            ),
        ),
        Example(
            title="A SQLite-only project: every AlterField is a table rebuild there",
            history=(SHOP_INITIAL,),
            targets=("sqlite",),
            source=operations(
                'migrations.AlterField("client", "orders_count", models.BigIntegerField(default=0))'
            ),
        ),
    )

    def check(self, ctx: MigrationContext) -> Iterator[Finding]:
        if not postgres_locks_apply(ctx):
            return
        for step in db_steps(ctx):
            op = step.operation
            if not op_is(op, "AlterField"):
                continue
            model = existing_model(ctx, step)
            new = new_field(ctx, op)
            name = op.kwargs.get("name")
            old = model.field(name) if model is not None and isinstance(name, str) else None
            if model is None or old is None or new is None or new.many_to_many:
                continue
            old_type, new_type = pg_type(old, step.models), pg_type(new, step.models)
            if old_type is None or new_type is None or not rewrites(old_type, new_type):
                continue
            also = ""
            if new.primary_key:
                others = sorted(
                    {f"{m.table}.{f.column}" for m, f in referencing(step.models, model.key)}
                )
                if others:
                    also = f", and the referencing columns {', '.join(others)} with their tables"
            yield self.finding(
                ctx,
                op,
                f"AlterField changes {model.table}.{old.column} from {old_type} to {new_type}: "
                f"PostgreSQL rewrites the table and its indexes under an ACCESS EXCLUSIVE lock "
                f"(no reads, no writes){also}",
                help=(
                    "keep the column and add a CHECK, or add a new column and copy in batches "
                    "(fix plan below)"
                ),
                fix=type_change(ctx, op, model, old, new, old_type, new_type),
                target="postgresql",
            )
