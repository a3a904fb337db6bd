"""ML512: a refactor whose operations drop data that Django does not carry over."""

from __future__ import annotations

from collections.abc import Iterator

from migration_lint.analysis.builds import new_field
from migration_lint.analysis.deploy import (
    DbStep,
    db_steps,
    existing_model,
    model_of,
    op_is,
)
from migration_lint.context import MigrationContext
from migration_lint.deploy_plans import carry_over
from migration_lint.facts import FieldState, ModelState
from migration_lint.findings import Finding, Severity
from migration_lint.rules._deploy import SHOP_INITIAL, operations
from migration_lint.rules.base import Example, Rule

_TAGS = operations(
    'migrations.CreateModel("Tag", [("id", models.BigAutoField(primary_key=True)), ("name", models.CharField(max_length=30))])',
    'migrations.AddField("client", "tags", models.ManyToManyField(to="shop.tag"))',
)
_COPY = """\
from django.db import migrations, models


def copy_first_tag(apps, schema_editor):
    Client = apps.get_model("shop", "Client")
    Through = Client.tags.through
    for link in Through.objects.order_by("-pk").iterator():
        Client.objects.filter(pk=link.client_id).update(tag_id=link.tag_id)


class Migration(migrations.Migration):
    dependencies = [("shop", "0002_auto")]
    operations = [
"""


class DataNotCarriedOver(Rule):
    """Refactor that drops data Django does not carry over to the new schema.

    ## What it does
    Reports operations that throw data away while the migration looks like a change of shape:
    a field removed and added again under the same name in one migration (how `makemigrations`
    turns a `ManyToManyField` into a `ForeignKey` or back), a `ManyToManyField` removed (its
    join table and every link go), an `AlterField` between a many-to-many and a column (Django
    refuses it at `migrate`), and a model deleted and created again in one migration. When a
    `RunPython` or `RunSQL` between the two operations copies the data, nothing is reported.

    ## Why is this bad?
    Django does not convert data between these shapes: the old column or join table is
    dropped with its contents and the new one starts empty (or with the default). Nothing
    fails, so the loss is found later, in production.

    ## Use instead
    Add the new field under another name, copy the data with a `RunPython` (batched), deploy
    the code that uses it, and remove the old field in a later migration, from Django's state
    first.
    """

    code = "ML512"
    name = "data-not-carried-over"
    severity = Severity.ERROR

    flagged = (
        Example(
            title="A many-to-many turned into a ForeignKey (what makemigrations writes)",
            history=(SHOP_INITIAL, _TAGS),
            source=operations(
                'migrations.RemoveField(model_name="client", name="tags")',
                'migrations.AddField(model_name="client", name="tags", field=models.ForeignKey("shop.tag", models.SET_NULL, null=True))',
                after="0002_auto",
            ),
            line=7,
        ),
        Example(
            title="A many-to-many removed: the join table goes with every link",
            history=(SHOP_INITIAL, _TAGS),
            source=operations(
                'migrations.RemoveField(model_name="client", name="tags")', after="0002_auto"
            ),
        ),
        Example(
            title="A model deleted and created again",
            history=(SHOP_INITIAL, _TAGS),
            source=operations(
                'migrations.RemoveField("client", "tags")',
                'migrations.DeleteModel("Tag")',
                'migrations.CreateModel("Tag", [("id", models.BigAutoField(primary_key=True)), ("label", models.CharField(max_length=30))])',
                after="0002_auto",
            ),
        ),
    )
    accepted = (
        Example(
            title="The new field under another name, filled from the old one",
            history=(SHOP_INITIAL, _TAGS),
            source=_COPY
            + '        migrations.AddField("client", "tag", models.ForeignKey("shop.tag", models.SET_NULL, null=True, related_name="+")),\n'
            + "        migrations.RunPython(copy_first_tag, migrations.RunPython.noop),\n    ]\n",
        ),
        Example(
            title="Then the many-to-many removed from Django's state only",
            history=(SHOP_INITIAL, _TAGS),
            source=operations(
                'migrations.SeparateDatabaseAndState(state_operations=[migrations.RemoveField("client", "tags")])',
                after="0002_auto",
            ),
        ),
        Example(
            title="A copy between removing and adding",
            history=(SHOP_INITIAL,),
            source=operations(
                'migrations.AddField("order", "note_text", models.TextField(null=True))',
                "migrations.RunSQL('UPDATE shop_order SET note_text = note;', migrations.RunSQL.noop)",
                'migrations.RemoveField("order", "note")',
                'migrations.RenameField("order", "note_text", "note")',
            ),
        ),
        Example(
            title="A table created in the same migration",
            source="""\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    operations = [
        migrations.CreateModel("Coupon", [("id", models.AutoField(primary_key=True)), ("code", models.TextField())]),
        migrations.RemoveField("coupon", "code"),
        migrations.AddField("coupon", "code", models.IntegerField(null=True)),
    ]
""",
        ),
    )

    def check(self, ctx: MigrationContext) -> Iterator[Finding]:
        steps = db_steps(ctx)
        for position, step in enumerate(steps):
            op = step.operation
            if op_is(op, "RemoveField"):
                yield from self.removed(ctx, steps, position, step)
            elif op_is(op, "AlterField"):
                model = existing_model(ctx, step)
                name = op.kwargs.get("name")
                old = model.field(name) if model and isinstance(name, str) else None
                new = new_field(ctx, op)
                if model is None or old is None or new is None:
                    continue
                if old.many_to_many != new.many_to_many:
                    yield self.finding(
                        ctx,
                        op,
                        f"AlterField turns {model.name}.{old.name} between a many-to-many and a "
                        "column, which Django cannot do: `migrate` raises ValueError, and the "
                        "RemoveField + AddField it needs instead drops the data",
                        help="add the new field under another name and copy the data first",
                        fix=carry_over(ctx, model, old, op),
                    )
            elif op_is(op, "DeleteModel"):
                model = model_of(ctx, step, "name")
                if model is None or not model.managed or model.proxy:
                    continue
                if _created_between(steps, -1, position, model):
                    continue
                if not _created_between(steps, position, len(steps), model):
                    continue
                yield self.finding(
                    ctx,
                    op,
                    f"DeleteModel drops table {model.table} with its rows and CreateModel creates "
                    "it again empty: the rows are not carried over",
                    help="alter the model in place, or copy the rows before deleting it",
                    fix=carry_over(ctx, model, model.fields[0], None) if model.fields else (),
                )

    def removed(
        self, ctx: MigrationContext, steps: list[DbStep], position: int, step: DbStep
    ) -> Iterator[Finding]:
        op = step.operation
        model = existing_model(ctx, step)
        name = op.kwargs.get("name")
        field = model.field(name) if model and isinstance(name, str) else None
        if model is None or field is None:
            return
        readded = _added_later(ctx, steps, position, model, field)
        if readded is not None:
            if _copied_between(steps, position, readded):
                return
            added = steps[readded].operation
            yield self.finding(
                ctx,
                op,
                f"RemoveField and AddField replace {model.name}.{field.name}: Django drops "
                f"{_storage(model, field)} with its data and the new field starts empty",
                help="add the new field under another name, copy the data, then remove the old one",
                fix=carry_over(ctx, model, field, added),
            )
        elif field.many_to_many and "through" not in field.kwargs:
            if _copied_between(steps, -1, position):
                return
            yield self.finding(
                ctx,
                op,
                f"RemoveField drops {_storage(model, field)} with every link in it, while the "
                "code still running reads it",
                help="copy the links first if they matter; remove it from Django's state first",
                fix=carry_over(ctx, model, field, None, op),
            )


def _storage(model: ModelState, field: FieldState) -> str:
    if field.many_to_many:
        return f"the join table {model.table}_{field.name.lower()}"
    return f"the column {model.table}.{field.column}"


def _added_later(
    ctx: MigrationContext, steps: list[DbStep], position: int, model: ModelState, field: FieldState
) -> int | None:
    for index in range(position + 1, len(steps)):
        op = steps[index].operation
        if not op_is(op, "AddField"):
            continue
        model_name, name = op.kwargs.get("model_name"), op.kwargs.get("name")
        if (
            isinstance(model_name, str)
            and model_name.lower() == model.name.lower()
            and isinstance(name, str)
            and name.lower() == field.name.lower()
        ):
            return index
    return None


def _copied_between(steps: list[DbStep], start: int, end: int) -> bool:
    """A RunPython or RunSQL between the two operations (it may copy the data)."""
    return any(op_is(s.operation, "RunPython", "RunSQL") for s in steps[start + 1 : end])


def _created_between(steps: list[DbStep], start: int, end: int, model: ModelState) -> bool:
    for step in steps[start + 1 : end]:
        op = step.operation
        name = op.kwargs.get("name")
        if (
            op_is(op, "CreateModel")
            and isinstance(name, str)
            and name.lower() == model.name.lower()
        ):
            return True
    return False
