"""ML503: a data migration that uses today's model class instead of the historical one."""

from __future__ import annotations

from collections.abc import Iterator

from migration_lint.analysis.deploy import db_steps, op_is
from migration_lint.analysis.python_code import DirectModel, app_of, function_name, reached
from migration_lint.context import MigrationContext
from migration_lint.deploy_plans import historical_models
from migration_lint.findings import Finding, Severity
from migration_lint.rules._deploy import SHOP_INITIAL
from migration_lint.rules.base import Example, Rule

_CLASS = """

class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.RunPython(fill_orders_count, migrations.RunPython.noop)]
"""


class ModelImportedInMigration(Rule):
    """Data migration that uses the model class imported from the app, not `apps.get_model`.

    ## What it does
    Reports `RunPython` functions (and the module-level functions they call) that reach a model
    through an import of a models module (`from shop.models import Client`,
    `import shop.models`, an import inside the function, `django.contrib.auth.models` too)
    instead of the `apps` registry Django passes in. Imports that only feed the operations
    (`default=shop.models.make_code`, as `makemigrations` writes them) are not reported, nor
    are Django's own `django.db.models` helpers (`F`, `Count` ...).

    ## Why is this bad?
    The imported class is today's model, not the model as this point of the history left it.
    As soon as a later migration adds a field, the query selects a column this database does
    not have yet, and `migrate` on a fresh database (tests, CI, a new developer) fails in the
    middle of the history. When the model is renamed or deleted, the migration cannot even be
    imported.

    ## Use instead
    `Client = apps.get_model("shop", "Client")` at the top of the function.
    """

    code = "ML503"
    name = "model-imported-in-migration"
    severity = Severity.ERROR

    flagged = (
        Example(
            title="from shop.models import Client",
            history=(SHOP_INITIAL,),
            source="""\
from django.db import migrations

from shop.models import Client


def fill_orders_count(apps, schema_editor):
    for client in Client.objects.filter(orders_count__isnull=True).iterator():
        client.orders_count = 0
        client.save()
"""
            + _CLASS,
            line=14,
        ),
        Example(
            title="import shop.models",
            history=(SHOP_INITIAL,),
            source="""\
from django.db import migrations

import shop.models


def fill_orders_count(apps, schema_editor):
    shop.models.Client.objects.update(orders_count=0)
"""
            + _CLASS,
        ),
        Example(
            title="An import inside the function (auth's User)",
            history=(SHOP_INITIAL,),
            source="""\
from django.db import migrations


def fill_orders_count(apps, schema_editor):
    from django.contrib.auth.models import User

    Client = apps.get_model("shop", "Client")
    for user in User.objects.filter(is_staff=True):
        Client.objects.get_or_create(name=user.username)
"""
            + _CLASS,
        ),
    )
    accepted = (
        Example(
            title="apps.get_model",
            history=(SHOP_INITIAL,),
            source="""\
from django.db import migrations
from django.db.models import F


def fill_orders_count(apps, schema_editor):
    Client = apps.get_model("shop", "Client")
    Order = apps.get_model("shop.Order")
    Client.objects.update(orders_count=F("orders_count") + 0)
    Order.objects.filter(note__isnull=True).update(note="")
"""
            + _CLASS,
        ),
        Example(
            title="makemigrations imports shop.models for a callable default",
            history=(SHOP_INITIAL,),
            source="""\
import shop.models
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [
        migrations.AddField(
            model_name="client",
            name="code",
            field=models.CharField(default=shop.models.make_code, max_length=12, null=True),
        ),
    ]
""",
        ),
        Example(
            title="A helper the function calls, given the historical model",
            history=(SHOP_INITIAL,),
            source="""\
from django.db import migrations

from shop.models import STATUS_CHOICES


def reset(Model, field):
    Model.objects.update(**{field: 0})


def fill_orders_count(apps, schema_editor):
    assert STATUS_CHOICES
    reset(apps.get_model("shop", "Client"), "orders_count")
"""
            + _CLASS,
        ),
    )

    def check(self, ctx: MigrationContext) -> Iterator[Finding]:
        for step in db_steps(ctx):
            op = step.operation
            if not op_is(op, "RunPython") or op.dynamic:
                continue
            for arg in ("code", "reverse_code"):
                function = function_name(op, arg)
                if function is None:
                    continue
                direct: dict[str, DirectModel] = {}
                for facts in reached(ctx, function):
                    for found in facts.direct:
                        direct.setdefault(found.spelling, found)
                if not direct:
                    continue
                spelled = ", ".join(
                    d.spelling
                    + (f" (from {d.module})" if d.module and d.module not in d.spelling else "")
                    for d in direct.values()
                )
                models = [
                    (
                        d.spelling,
                        app_of(d.module, ctx.migration.app_label)
                        if d.module
                        else ctx.migration.app_label,
                        d.name,
                    )
                    for d in direct.values()
                ]
                yield self.finding(
                    ctx,
                    op,
                    f"{function} uses {spelled}: today's model class, not the historical one, "
                    "so the migration breaks once the model changes",
                    help=(
                        f"get it from the registry Django passes in: "
                        f"apps.get_model({models[0][1]!r}, {models[0][2]!r})"
                    ),
                    fix=(historical_models(ctx, function, models),),
                )
