"""ML501: a RunPython without reverse_code, which makes the migration impossible to unapply."""

from __future__ import annotations

from collections.abc import Iterator

from migration_lint.analysis.deploy import db_steps, op_is
from migration_lint.analysis.python_code import function_name, reached
from migration_lint.context import MigrationContext
from migration_lint.deploy_plans import run_python_reverse
from migration_lint.findings import Finding, Severity
from migration_lint.rules._deploy import SHOP_INITIAL
from migration_lint.rules.base import Example, Rule

_FILL = """\
from django.db import migrations


def fill_orders_count(apps, schema_editor):
    Client = apps.get_model("shop", "Client")
    Client.objects.filter(orders_count__isnull=True).update(orders_count=0)


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [
"""


class IrreversibleRunPython(Rule):
    """RunPython without reverse_code: the migration cannot be unapplied.

    ## What it does
    Reports `RunPython` operations that run on the database without a `reverse_code`. The fix
    plan reads the forward function: `migrations.RunPython.noop` when it only updates rows (a
    backfill), a reverse function that deletes what it created when it inserts rows, and a
    knowing `noop` when it deletes rows.

    ## Why is this bad?
    `migrate app 0004` (to roll back a bad release, or to switch branches) stops at this
    migration with `IrreversibleError`, and every migration before it is stuck as well. The
    moment a rollback is needed is the worst moment to write the reverse.

    ## Use instead
    Pass a reverse: `migrations.RunPython(forwards, migrations.RunPython.noop)` when undoing
    the data needs nothing, or a function that undoes it.
    """

    code = "ML501"
    name = "irreversible-run-python"
    severity = Severity.WARNING

    flagged = (
        Example(
            title="A backfill without a reverse",
            history=(SHOP_INITIAL,),
            source=_FILL + "        migrations.RunPython(fill_orders_count),\n    ]\n",
            line=12,
        ),
        Example(
            title="A function that creates rows, given by keyword",
            history=(SHOP_INITIAL,),
            source="""\
from django.db import migrations


def create_walk_in_client(apps, schema_editor):
    Client = apps.get_model("shop", "Client")
    Client.objects.create(name="Walk-in")


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.RunPython(code=create_walk_in_client)]
""",
        ),
    )
    accepted = (
        Example(
            title="RunPython.noop as the reverse",
            history=(SHOP_INITIAL,),
            source=_FILL
            + "        migrations.RunPython(fill_orders_count, migrations.RunPython.noop),\n    ]\n",
        ),
        Example(
            title="A real reverse function",
            history=(SHOP_INITIAL,),
            source="""\
from django.db import migrations


def create_walk_in_client(apps, schema_editor):
    apps.get_model("shop", "Client").objects.create(name="Walk-in")


def delete_walk_in_client(apps, schema_editor):
    apps.get_model("shop", "Client").objects.filter(name="Walk-in").delete()


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.RunPython(create_walk_in_client, reverse_code=delete_walk_in_client)]
""",
        ),
        Example(
            title="Keywords, with elidable",
            history=(SHOP_INITIAL,),
            source=_FILL
            + "        migrations.RunPython(code=fill_orders_count, reverse_code=migrations.RunPython.noop, elidable=True),\n    ]\n",
        ),
    )

    def check(self, ctx: MigrationContext) -> Iterator[Finding]:
        for step in db_steps(ctx):
            op = step.operation
            if not op_is(op, "RunPython") or op.dynamic:
                continue
            if op.kwargs.get("reverse_code") is not None:
                continue
            function = function_name(op)
            facts = list(reached(ctx, function)) if function else []
            what = function or "the forward code"
            yield self.finding(
                ctx,
                op,
                f"RunPython({what}) has no reverse_code: `migrate` cannot unapply "
                f"{ctx.migration.app_label}.{ctx.migration.name} or anything before it",
                help="pass reverse_code: migrations.RunPython.noop or a function that undoes it",
                fix=run_python_reverse(ctx, op, function, facts),
            )
