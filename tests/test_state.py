"""Table state replayed from parsed migrations: ``migration_lint.state`` through ``history.replay``."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from migration_lint.facts import (
    FieldState,
    IndexState,
    MigrationFacts,
    ModelKey,
    ModelState,
    UniqueSet,
)
from migration_lint.history import MigrationState, build_history, replay
from migration_lint.source.parse import parse_migration
from migration_lint.state import default_table

HEADER = """\
from django.conf import settings
from django.db import migrations, models
from django.db.models.functions import Lower
from django.contrib.postgres.operations import AddIndexConcurrently
from third_party import operations as tp


class Migration(migrations.Migration):
"""

ORDER = """\
    operations = [
        migrations.CreateModel(
            "Order",
            [
                ("id", models.BigAutoField(primary_key=True)),
                ("code", models.CharField(max_length=10)),
                ("total", models.IntegerField(default=0)),
                ("customer", models.ForeignKey("shop.Customer", models.CASCADE)),
            ],
        ),
    ]
"""


def migration(app: str, number: int, body: str, prelude: str = "") -> MigrationFacts:
    """``<app>/migrations/000<number>_m.py``, depending on the app's previous migration;
    ``prelude`` is module-level code before the class."""
    previous = f'    dependencies = [("{app}", "{number - 1:04d}_m")]\n' if number > 1 else ""
    source = HEADER.replace("class Migration", prelude + "class Migration") + previous + body
    facts = parse_migration(f"{app}/migrations/{number:04d}_m.py", source.encode(), app)
    assert facts.parse_error is None, facts.parse_error
    return facts


def states(*bodies: str, app: str = "shop") -> dict[tuple[str, str], MigrationState]:
    """The state before each of the migrations ``bodies`` (in order, one app)."""
    facts = [migration(app, n, body) for n, body in enumerate(bodies, start=1)]
    history = build_history(facts, {app: {f.name for f in facts}})
    assert history.problems == []
    return replay(history, {f.key for f in facts})


def models_after(*bodies: str, app: str = "shop") -> Mapping[ModelKey, ModelState]:
    """The models once every migration of ``bodies`` ran."""
    result = states(*bodies, "    operations = []\n", app=app)
    return result[(app, f"{len(bodies) + 1:04d}_m")].before


def model_after(*bodies: str, name: str = "order", app: str = "shop") -> ModelState:
    models = models_after(*bodies, app=app)
    assert (app, name) in models, sorted(models)
    return models[(app, name)]


def columns(model: ModelState) -> dict[str, str]:
    return {f.name: f.column for f in model.fields}


def ops(*lines: str) -> str:
    return "    operations = [\n" + "".join(f"        {line},\n" for line in lines) + "    ]\n"


# --- CreateModel --------------------------------------------------------------------------------


def test_create_model_defaults() -> None:
    order = model_after(ORDER)
    assert order.app_label == "shop"
    assert order.name == "Order"
    assert order.key == ("shop", "order")
    assert order.table == "shop_order"
    assert order.created_by == ("shop", "0001_m")
    assert order.managed and not order.proxy
    assert columns(order) == {
        "id": "id",
        "code": "code",
        "total": "total",
        "customer": "customer_id",
    }
    assert order.unique_together == ()
    assert order.constraints == ()
    assert order.indexes == ()


@pytest.mark.parametrize(
    ("app", "model", "table"),
    (
        pytest.param("shop", "Order", "shop_order", id="simple"),
        pytest.param("shop", "OrderLine", "shop_orderline", id="camel-case"),
        pytest.param("my_app", "Order", "my_app_order", id="underscore-app"),
    ),
)
def test_default_table(app: str, model: str, table: str) -> None:
    assert default_table(app, model) == table


@pytest.mark.parametrize(
    ("field", "expected"),
    (
        pytest.param(
            "models.CharField(max_length=5)",
            {"column": "f", "unique": False, "null": False, "db_index": False},
            id="plain",
        ),
        pytest.param(
            "models.CharField(max_length=5, unique=True)",
            {"column": "f", "unique": True},
            id="unique",
        ),
        pytest.param("models.IntegerField(unique=False)", {"unique": False}, id="unique-false"),
        pytest.param(
            "models.IntegerField(primary_key=True)",
            {"primary_key": True, "unique": True},
            id="primary-key",
        ),
        pytest.param("models.IntegerField(null=True)", {"null": True}, id="null"),
        pytest.param("models.IntegerField(db_index=True)", {"db_index": True}, id="db-index"),
        pytest.param(
            "models.IntegerField(db_column='legacy_f')", {"column": "legacy_f"}, id="db-column"
        ),
        pytest.param(
            "models.ForeignKey('shop.Customer', models.CASCADE)",
            {"column": "f_id", "related_model": "shop.customer", "db_index": True},
            id="foreign-key",
        ),
        pytest.param(
            "models.ForeignKey('Customer', on_delete=models.CASCADE, db_index=False)",
            {"column": "f_id", "related_model": "shop.customer", "db_index": False},
            id="foreign-key-same-app-no-index",
        ),
        pytest.param(
            "models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE)",
            {"column": "f_id", "related_model": "auth.user"},
            id="foreign-key-user-model",
        ),
        pytest.param(
            "models.ForeignKey('billing.Invoice', models.CASCADE, db_column='invoice')",
            {"column": "invoice", "related_model": "billing.invoice"},
            id="foreign-key-db-column",
        ),
        pytest.param(
            "models.ForeignKey('self', models.CASCADE, null=True)",
            {"column": "f_id", "related_model": "shop.order", "null": True},
            id="foreign-key-self",
        ),
        pytest.param(
            "models.OneToOneField('shop.Customer', models.CASCADE)",
            {"column": "f_id", "unique": True, "related_model": "shop.customer"},
            id="one-to-one-is-unique",
        ),
        pytest.param(
            "models.ManyToManyField('shop.Tag')",
            {"many_to_many": True, "related_model": "shop.tag", "column": "f"},
            id="many-to-many",
        ),
        pytest.param(
            "models.IntegerField(db_default=0)", {"has_db_default": True}, id="db-default"
        ),
        pytest.param(
            "models.IntegerField(default=0)", {"has_db_default": False}, id="python-default"
        ),
        pytest.param(
            "make_field()", {"column": "f", "field_type": "make_field"}, id="unknown-callable"
        ),
    ),
)
def test_field_facts(field: str, expected: dict[str, object]) -> None:
    order = model_after(ops(f'migrations.CreateModel("Order", [("f", {field})])'))
    (state,) = order.fields
    assert isinstance(state, FieldState)
    assert state.name == "f"
    assert {key: getattr(state, key) for key in expected} == expected


def test_field_type_is_the_canonical_qualname() -> None:
    order = model_after(ORDER)
    assert [f.field_type for f in order.fields] == [
        "django.db.models.BigAutoField",
        "django.db.models.CharField",
        "django.db.models.IntegerField",
        "django.db.models.ForeignKey",
    ]
    assert order.field("CODE") is order.fields[1]
    assert order.field("missing") is None


@pytest.mark.parametrize(
    ("options", "expected"),
    (
        pytest.param("{}", "shop_order", id="default"),
        pytest.param('{"db_table": "orders"}', "orders", id="db-table"),
        pytest.param('{"db_table": "legacy\\".\\"orders"}', 'legacy"."orders', id="quoted"),
        pytest.param('{"verbose_name": "order"}', "shop_order", id="other-options"),
    ),
)
def test_create_model_table(options: str, expected: str) -> None:
    order = model_after(ops(f'migrations.CreateModel("Order", [], options={options})'))
    assert order.table == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    (
        pytest.param('("a", "b")', (("a", "b"),), id="single-tuple"),
        pytest.param('[("a", "b")]', (("a", "b"),), id="list-of-one"),
        pytest.param('{("a", "b")}', (("a", "b"),), id="set-of-one"),
        pytest.param('[["a", "b"], ["b", "c"]]', (("a", "b"), ("b", "c")), id="list-of-lists"),
        pytest.param("()", (), id="empty"),
        pytest.param("UNIQUE", (), id="not-a-literal"),
    ),
)
def test_unique_together_is_normalised(value: str, expected: tuple[tuple[str, ...], ...]) -> None:
    order = model_after(
        ops(f'migrations.CreateModel("Order", [], options={{"unique_together": {value}}})')
    )
    assert order.unique_together == expected


@pytest.mark.parametrize(
    ("constraint", "expected"),
    (
        pytest.param(
            'models.UniqueConstraint(fields=["code"], name="order_code_uniq")',
            UniqueSet(("code",), "constraint", "order_code_uniq"),
            id="plain",
        ),
        pytest.param(
            'models.UniqueConstraint(fields=("code", "total"), name="u2")',
            UniqueSet(("code", "total"), "constraint", "u2"),
            id="two-fields",
        ),
        pytest.param(
            'models.UniqueConstraint(fields=["code"], name="u", condition=models.Q(total__gt=0))',
            UniqueSet(("code",), "constraint", "u", condition=True),
            id="condition",
        ),
        pytest.param(
            'models.UniqueConstraint(Lower("code"), name="u_lower")',
            UniqueSet((), "constraint", "u_lower", expressions=True),
            id="expressions",
        ),
        pytest.param(
            'models.UniqueConstraint(fields=["code"], name="u", nulls_distinct=False)',
            UniqueSet(("code",), "constraint", "u", nulls_distinct=False),
            id="nulls-not-distinct",
        ),
    ),
)
def test_unique_constraints_in_create_model(constraint: str, expected: UniqueSet) -> None:
    order = model_after(
        ops(
            'migrations.CreateModel("Order", [("code", models.TextField()), ("total", models.IntegerField())], '
            f'options={{"constraints": [{constraint}]}})'
        )
    )
    assert order.constraints == (expected,)


def test_check_constraints_are_not_unique_sets() -> None:
    order = model_after(
        ops(
            'migrations.CreateModel("Order", [], options={"constraints": ['
            'models.CheckConstraint(check=models.Q(total__gte=0), name="positive")]})'
        )
    )
    assert order.constraints == ()


def test_create_model_indexes_managed_and_proxy() -> None:
    models = models_after(
        ops(
            'migrations.CreateModel("Order", [], options={"indexes": ['
            'models.Index(fields=["-created", "code"], name="order_idx"), '
            'models.Index(Lower("code"), name="order_lower_idx", condition=models.Q(total=0))]})',
            'migrations.CreateModel("Legacy", [], options={"managed": False})',
            'migrations.CreateModel("Proxy", [], options={"proxy": True}, bases=("shop.order",))',
        )
    )
    assert models[("shop", "order")].indexes == (
        IndexState("order_idx", ("created", "code")),
        IndexState("order_lower_idx", (), condition=True, expressions=True),
    )
    assert models[("shop", "legacy")].managed is False
    assert models[("shop", "proxy")].proxy is True


def test_create_model_with_keyword_arguments() -> None:
    order = model_after(
        ops(
            'migrations.CreateModel(name="Order", fields=[("id", models.AutoField(primary_key=True))], '
            'options={"db_table": "orders"})'
        )
    )
    assert (order.table, columns(order)) == ("orders", {"id": "id"})


# --- fields -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "expected"),
    (
        pytest.param(
            'migrations.AddField("order", "note", models.TextField(null=True))',
            {
                "id": "id",
                "code": "code",
                "total": "total",
                "customer": "customer_id",
                "note": "note",
            },
            id="add-field",
        ),
        pytest.param(
            'migrations.AddField(model_name="Order", name="shop", field=models.ForeignKey("shop.Shop", models.CASCADE))',
            {
                "id": "id",
                "code": "code",
                "total": "total",
                "customer": "customer_id",
                "shop": "shop_id",
            },
            id="add-foreign-key-model-name-any-case",
        ),
        pytest.param(
            'migrations.AlterField("order", "code", models.CharField(max_length=20, db_column="order_code"))',
            {"id": "id", "code": "order_code", "total": "total", "customer": "customer_id"},
            id="alter-field-db-column",
        ),
        pytest.param(
            'migrations.RemoveField("order", "total")',
            {"id": "id", "code": "code", "customer": "customer_id"},
            id="remove-field",
        ),
        pytest.param(
            'migrations.RemoveField("order", "TOTAL")',
            {"id": "id", "code": "code", "customer": "customer_id"},
            id="remove-field-any-case",
        ),
        pytest.param(
            'migrations.RenameField("order", "code", "reference")',
            {"id": "id", "reference": "reference", "total": "total", "customer": "customer_id"},
            id="rename-field-column-follows",
        ),
        pytest.param(
            'migrations.RenameField("order", "customer", "buyer")',
            {"id": "id", "code": "code", "total": "total", "buyer": "buyer_id"},
            id="rename-foreign-key-column-follows",
        ),
        pytest.param(
            'migrations.AddField("order", "missing", models.TextField())',
            {
                "id": "id",
                "code": "code",
                "total": "total",
                "customer": "customer_id",
                "missing": "missing",
            },
            id="add-then-nothing-else",
        ),
    ),
)
def test_field_operations(operation: str, expected: dict[str, str]) -> None:
    order = model_after(ORDER, ops(operation))
    assert columns(order) == expected


def test_alter_field_replaces_the_field_in_place() -> None:
    order = model_after(
        ORDER,
        ops('migrations.AlterField("order", "code", models.CharField(max_length=10, unique=True))'),
    )
    assert [f.name for f in order.fields] == ["id", "code", "total", "customer"]
    code = order.field("code")
    assert code is not None and code.unique
    assert code.kwargs["max_length"] == 10


@pytest.mark.parametrize(
    ("field", "column"),
    (
        pytest.param("models.CharField(max_length=5, db_column='legacy')", "legacy", id="plain"),
        pytest.param(
            "models.ForeignKey('shop.Customer', models.CASCADE, db_column='cust')",
            "cust",
            id="foreign-key",
        ),
    ),
)
def test_rename_field_keeps_a_db_column(field: str, column: str) -> None:
    order = model_after(
        ops(f'migrations.CreateModel("Order", [("old", {field})])'),
        ops('migrations.RenameField("order", "old", "new")'),
    )
    assert columns(order) == {"new": column}


@pytest.mark.parametrize(
    ("field", "column"),
    (
        pytest.param("models.ForeignKey('self', models.CASCADE)", "new_id", id="self"),
        pytest.param("models.ForeignKey(TARGET, models.CASCADE)", "new_id", id="unresolved-target"),
        pytest.param(
            "models.OneToOneField('shop.Customer', models.CASCADE)", "new_id", id="one-to-one"
        ),
        pytest.param("models.IntegerField()", "new", id="plain-field-named-like-a-key"),
    ),
)
def test_rename_relation_column(field: str, column: str) -> None:
    order = model_after(
        ops(f'migrations.CreateModel("Order", [("old_id", {field})])'),
        ops('migrations.RenameField("order", "old_id", "new")'),
    )
    assert columns(order) == {"new": column}


def test_rename_field_updates_unique_sets_and_indexes() -> None:
    order = model_after(
        ops(
            'migrations.CreateModel("Order", [("code", models.TextField()), ("total", models.IntegerField())], '
            'options={"unique_together": [("code", "total")], '
            '"constraints": [models.UniqueConstraint(fields=["code"], name="u")], '
            '"indexes": [models.Index(fields=["code"], name="i")]})'
        ),
        ops('migrations.RenameField("order", "code", "reference")'),
    )
    assert order.unique_together == (("reference", "total"),)
    assert order.constraints == (UniqueSet(("reference",), "constraint", "u"),)
    assert order.indexes == (IndexState("i", ("reference",)),)


def test_remove_field_drops_its_unique_together() -> None:
    order = model_after(
        ops(
            'migrations.CreateModel("Order", [("a", models.TextField()), ("b", models.TextField()), '
            '("c", models.TextField())], options={"unique_together": [("a", "b"), ("c",)]})'
        ),
        ops('migrations.RemoveField("order", "a")'),
    )
    assert order.unique_together == (("c",),)


# --- models -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "table"),
    (
        pytest.param("{}", "shop_purchase", id="default-table-follows"),
        pytest.param('{"db_table": "orders"}', "orders", id="custom-table-stays"),
        pytest.param('{"db_table": "shop_order"}', "shop_purchase", id="default-spelled-out"),
    ),
)
def test_rename_model(options: str, table: str) -> None:
    models = models_after(
        ops(
            f'migrations.CreateModel("Order", [("id", models.AutoField(primary_key=True))], options={options})'
        ),
        ops('migrations.RenameModel("Order", "Purchase")'),
    )
    assert ("shop", "order") not in models
    purchase = models[("shop", "purchase")]
    assert (purchase.name, purchase.table) == ("Purchase", table)
    assert columns(purchase) == {"id": "id"}


def test_rename_model_repoints_relations() -> None:
    models = models_after(
        ops(
            'migrations.CreateModel("Customer", [])',
            'migrations.CreateModel("Order", [("customer", models.ForeignKey("shop.Customer", models.CASCADE))])',
        ),
        ops('migrations.RenameModel("Customer", "Client")'),
    )
    customer = models[("shop", "order")].field("customer")
    assert customer is not None
    assert customer.related_model == "shop.client"
    assert customer.column == "customer_id"


def test_a_relation_added_after_a_rename_follows_the_next_renames() -> None:
    # A rename reads every model's relations once, cached on the model state; a field added
    # after that must not be hidden by the stale cache, nor the repointed one after it.
    models = models_after(
        ops(
            'migrations.CreateModel("Customer", [])',
            'migrations.CreateModel("Order", [])',
            'migrations.CreateModel("Other", [])',
        ),
        ops('migrations.RenameModel("Other", "Another")'),
        ops(
            'migrations.AddField("order", "customer", models.ForeignKey("shop.Customer", models.CASCADE))'
        ),
        ops('migrations.RenameModel("Customer", "Client")'),
        ops('migrations.RenameModel("Client", "Buyer")'),
    )
    customer = models[("shop", "order")].field("customer")
    assert customer is not None
    assert customer.related_model == "shop.buyer"


def test_delete_model() -> None:
    models = models_after(ORDER, ops('migrations.DeleteModel("Order")'))
    assert ("shop", "order") not in models


@pytest.mark.parametrize(
    ("operation", "table"),
    (
        pytest.param('migrations.AlterModelTable("order", "orders")', "orders", id="set"),
        pytest.param('migrations.AlterModelTable("Order", table="orders")', "orders", id="keyword"),
        pytest.param(
            'migrations.AlterModelTable("order", None)', "shop_order", id="back-to-default"
        ),
        pytest.param('migrations.AlterModelTable("order", TABLE)', "legacy", id="not-a-literal"),
    ),
)
def test_alter_model_table(operation: str, table: str) -> None:
    order = model_after(
        ops('migrations.CreateModel("Order", [], options={"db_table": "legacy"})'), ops(operation)
    )
    assert order.table == table


@pytest.mark.parametrize(
    ("value", "expected"),
    (
        pytest.param('{("code", "total")}', (("code", "total"),), id="set"),
        pytest.param('("code", "total")', (("code", "total"),), id="single-tuple"),
        pytest.param("set()", (), id="cleared-by-set-call"),
        pytest.param("[]", (), id="cleared"),
    ),
)
def test_alter_unique_together(value: str, expected: tuple[tuple[str, ...], ...]) -> None:
    order = model_after(
        ops('migrations.CreateModel("Order", [], options={"unique_together": [("id", "code")]})'),
        ops(f'migrations.AlterUniqueTogether("order", {value})'),
    )
    assert order.unique_together == expected


def test_alter_model_options_managed() -> None:
    models = models_after(
        ORDER,
        ops('migrations.AlterModelOptions("order", {"managed": False})'),
    )
    assert models[("shop", "order")].managed is False
    models = models_after(
        ops('migrations.CreateModel("Order", [], options={"managed": False})'),
        ops('migrations.AlterModelOptions("order", {"verbose_name": "order"})'),
    )
    assert models[("shop", "order")].managed is True


# --- constraints and indexes --------------------------------------------------------------------


def test_add_and_remove_constraints() -> None:
    order = model_after(
        ORDER,
        ops(
            'migrations.AddConstraint("order", models.UniqueConstraint(fields=["code"], name="u_code"))',
            'migrations.AddConstraint("order", models.UniqueConstraint(fields=["total"], name="u_total"))',
            'migrations.AddConstraint("order", models.CheckConstraint(check=models.Q(total__gte=0), name="c"))',
        ),
        ops('migrations.RemoveConstraint("order", "u_code")'),
    )
    assert order.constraints == (UniqueSet(("total",), "constraint", "u_total"),)


def test_add_constraint_keyword_and_postgres_not_valid() -> None:
    from_keyword = model_after(
        ORDER,
        ops(
            'migrations.AddConstraint(model_name="order", constraint=models.UniqueConstraint(fields=["code"], name="u"))'
        ),
    )
    assert from_keyword.constraints == (UniqueSet(("code",), "constraint", "u"),)


@pytest.mark.parametrize(
    ("operations", "expected"),
    (
        pytest.param(
            ['migrations.AddIndex("order", models.Index(fields=["code"], name="order_code_idx"))'],
            (IndexState("order_code_idx", ("code",)),),
            id="add",
        ),
        pytest.param(
            ['AddIndexConcurrently("order", models.Index(fields=["code"], name="order_code_idx"))'],
            (IndexState("order_code_idx", ("code",)),),
            id="add-concurrently",
        ),
        pytest.param(
            [
                'migrations.AddIndex("order", models.Index(fields=["code"], name="a"))',
                'migrations.AddIndex("order", models.Index(fields=["total"], name="b"))',
                'migrations.RemoveIndex("order", "a")',
            ],
            (IndexState("b", ("total",)),),
            id="remove",
        ),
        pytest.param(
            [
                'migrations.AddIndex("order", models.Index(fields=["code"], name="a"))',
                'migrations.RenameIndex("order", new_name="b", old_name="a")',
            ],
            (IndexState("b", ("code",)),),
            id="rename",
        ),
        pytest.param(
            [
                'migrations.AddIndex("order", models.Index(fields=["code"], name="a"))',
                'migrations.RenameIndex("order", "b", "a")',
            ],
            (IndexState("b", ("code",)),),
            id="rename-positional",
        ),
    ),
)
def test_indexes(operations: list[str], expected: tuple[IndexState, ...]) -> None:
    order = model_after(ORDER, ops(*operations))
    assert order.indexes == expected


# --- state-only and opaque operations -----------------------------------------------------------


def test_separate_database_and_state_applies_state_operations_only() -> None:
    models = models_after(
        ORDER,
        ops(
            "migrations.SeparateDatabaseAndState(\n"
            '            database_operations=[migrations.DeleteModel("Order")],\n'
            "            state_operations=[\n"
            '                migrations.AddField("order", "note", models.TextField()),\n'
            '                migrations.CreateModel("Shadow", []),\n'
            "            ],\n"
            "        )"
        ),
    )
    assert "note" in columns(models[("shop", "order")])
    assert ("shop", "shadow") in models


def test_separate_database_and_state_positional() -> None:
    models = models_after(
        ORDER,
        ops(
            'migrations.SeparateDatabaseAndState([migrations.DeleteModel("Order")], '
            '[migrations.RemoveField("order", "total")])'
        ),
    )
    assert "total" not in columns(models[("shop", "order")])


def test_run_sql_state_operations() -> None:
    models = models_after(
        ORDER,
        ops(
            'migrations.RunSQL("ALTER TABLE shop_order ADD note text", '
            'state_operations=[migrations.AddField("order", "note", models.TextField())])'
        ),
    )
    assert "note" in columns(models[("shop", "order")])


@pytest.mark.parametrize(
    "operation",
    (
        pytest.param('migrations.RunSQL("DROP TABLE shop_order")', id="run-sql"),
        pytest.param("migrations.RunPython(forwards)", id="run-python"),
        pytest.param('tp.SaferAddField("order", "note", models.TextField())', id="third-party"),
        pytest.param("helper()", id="dynamic-helper"),
        pytest.param(
            'migrations.AddField(MODEL, "note", models.TextField())', id="unknown-model-name"
        ),
        pytest.param(
            'migrations.AddField("missing", "note", models.TextField())', id="unknown-model"
        ),
        pytest.param('migrations.RemoveField("missing", "note")', id="remove-from-unknown-model"),
        pytest.param('migrations.DeleteModel("Missing")', id="delete-unknown-model"),
        pytest.param('migrations.RenameModel("Missing", "Other")', id="rename-unknown-model"),
        pytest.param(
            'migrations.RemoveConstraint("order", "nope")', id="remove-unknown-constraint"
        ),
    ),
)
def test_opaque_operations_leave_state_untouched(operation: str) -> None:
    facts = [
        migration("shop", 1, ORDER),
        migration("shop", 2, ops(operation), prelude="def helper():\n    return []\n\n\n"),
        migration("shop", 3, "    operations = []\n"),
    ]
    history = build_history(facts, {"shop": {f.name for f in facts}})
    assert history.order == [f.key for f in facts]
    after = replay(history, {facts[2].key})[facts[2].key].before
    assert dict(after) == dict(models_after(ORDER))


def test_dynamic_operations_list_leaves_state_untouched() -> None:
    models = models_after(ORDER, "    operations = build()\n")
    assert dict(models) == dict(models_after(ORDER))


# --- steps within a migration -------------------------------------------------------------------


def test_steps_show_the_models_right_before_each_operation() -> None:
    result = states(
        ops(
            'migrations.CreateModel("Order", [("id", models.AutoField(primary_key=True))])',
            'migrations.AddField("order", "code", models.CharField(max_length=5, unique=True))',
            'migrations.AddField("order", "note", models.TextField())',
        )
    )
    state = result[("shop", "0001_m")]
    assert state.known
    assert state.before == {}
    assert [step.operation.name for step in state.steps] == ["CreateModel", "AddField", "AddField"]
    assert state.steps[0].models == {}
    assert [f.name for f in state.steps[1].models[("shop", "order")].fields] == ["id"]
    assert [f.name for f in state.steps[2].models[("shop", "order")].fields] == ["id", "code"]


def test_steps_forget_models_deleted_or_renamed_earlier_in_the_migration() -> None:
    result = states(
        ORDER + "",
        ops(
            'migrations.RenameModel("Order", "Purchase")',
            'migrations.DeleteModel("Purchase")',
            'migrations.CreateModel("Order", [])',
        ),
    )
    steps = result[("shop", "0002_m")].steps
    assert set(steps[0].models) == {("shop", "order")}
    assert set(steps[1].models) == {("shop", "purchase")}
    assert set(steps[2].models) == set()
    assert result[("shop", "0002_m")].before.keys() == {("shop", "order")}


def test_before_is_not_changed_by_the_migration_itself() -> None:
    result = states(ORDER, ops('migrations.RemoveField("order", "code")'))
    before = result[("shop", "0002_m")].before[("shop", "order")]
    assert "code" in columns(before)


def test_replay_keeps_snapshots_only_for_targets() -> None:
    facts = [migration("shop", 1, ORDER), migration("shop", 2, "    operations = []\n")]
    history = build_history(facts, {"shop": {"0001_m", "0002_m"}})
    result = replay(history, {("shop", "0002_m")})
    assert set(result) == {("shop", "0002_m")}
    assert ("shop", "order") in result[("shop", "0002_m")].before


def test_models_of_other_apps_are_carried_across() -> None:
    customers = migration(
        "crm",
        1,
        ops('migrations.CreateModel("Customer", [("email", models.EmailField(unique=True))])'),
    )
    order = parse_migration(
        "shop/migrations/0001_m.py",
        (
            HEADER
            + '    dependencies = [("crm", "0001_m")]\n'
            + ops('migrations.AddField("customer", "x", models.TextField())')
        ).encode(),
        "shop",
    )
    history = build_history([customers, order], {"crm": {"0001_m"}, "shop": {"0001_m"}})
    state = replay(history, {order.key})[order.key]
    assert set(state.before) == {("crm", "customer")}
    # An operation acts on its own app's models: shop has no Customer.
    assert state.steps[0].models == state.before


# --- unique sets --------------------------------------------------------------------------------


def test_unique_sets() -> None:
    order = model_after(
        ops(
            'migrations.CreateModel("Order", ['
            '("id", models.BigAutoField(primary_key=True)), '
            '("code", models.CharField(max_length=5, unique=True)), '
            '("total", models.IntegerField()), '
            '("profile", models.OneToOneField("shop.Profile", models.CASCADE))], '
            'options={"unique_together": ("code", "total")})'
        ),
        ops(
            'migrations.AddConstraint("order", models.UniqueConstraint(fields=["total"], name="u_total", '
            "condition=models.Q(total__gt=0)))"
        ),
    )
    assert order.unique_sets() == (
        UniqueSet(("id",), "primary_key"),
        UniqueSet(("code",), "unique"),
        UniqueSet(("profile",), "unique"),
        UniqueSet(("code", "total"), "unique_together"),
        UniqueSet(("total",), "constraint", "u_total", condition=True),
    )


def test_unique_sets_of_a_plain_model() -> None:
    order = model_after(ops('migrations.CreateModel("Order", [("name", models.TextField())])'))
    assert order.unique_sets() == ()


def test_the_replay_keeps_each_new_field_for_the_rules() -> None:
    body = ops(
        'migrations.AddField("order", "note", models.TextField(null=True))',
        'migrations.AlterField("order", "code", models.CharField(max_length=10, unique=True))',
        'migrations.AlterField("nothing", "code", models.CharField(max_length=10))',
    )
    state = states(ORDER, body)[("shop", "0002_m")]
    note, code, unknown = (op.path for op in (s.operation for s in state.steps))
    assert set(state.new_fields) == {note, code, unknown}
    assert state.new_fields[note].column == "note" and state.new_fields[note].null
    after = models_after(ORDER, body)[("shop", "order")]
    # The field the rules read is the one the models hold afterwards.
    assert after.field("code") == state.new_fields[code]


def test_field_state_is_built_in_the_order_of_its_fields() -> None:
    # field_state passes FieldState's fields by position: a new or moved field must be placed
    # there too.
    import dataclasses

    from migration_lint.facts import FieldState

    assert [f.name for f in dataclasses.fields(FieldState)] == [
        "name",
        "column",
        "field_type",
        "null",
        "unique",
        "primary_key",
        "db_index",
        "related_model",
        "many_to_many",
        "has_db_default",
        "kwargs",
    ]


def test_renames_repoint_relations_as_a_full_visit_would() -> None:
    # The replay notes every model a field has pointed at, and a RenameModel of a model no
    # field pointed at skips visiting the others. Random histories of relations and renames,
    # replayed so and onto a plain dict (which keeps no note: every rename visits all), must
    # end with the same models.
    import random

    from migration_lint.state import Replayer

    rng = random.Random(11)
    names = ["Customer"]
    bodies = ['migrations.CreateModel("Customer", [])']
    for n in range(120):
        kind = rng.random()
        target = rng.choice(names)
        if kind < 0.3:
            name = f"M{n}"
            fk = f'("to_{n}", models.ForeignKey("shop.{target}", models.CASCADE))'
            bodies.append(f'migrations.CreateModel("{name}", [{fk if rng.random() < 0.5 else ""}])')
            names.append(name)
        elif kind < 0.55:
            field = f'models.ForeignKey("shop.{target}", models.CASCADE)'
            owner = rng.choice(names)
            bodies.append(f'migrations.AddField("{owner}", "f{n}", {field})')
        elif kind < 0.85:
            new = f"R{n}"
            bodies.append(f'migrations.RenameModel("{target}", "{new}")')
            names[names.index(target)] = new
        else:
            owner = rng.choice(names)
            bodies.append(f'migrations.AddField("{owner}", "g{n}", models.IntegerField(null=True))')
    replayed = models_after(*(ops(body) for body in bodies))
    plain: dict[ModelKey, ModelState] = {}
    for number, body in enumerate(bodies, start=1):
        for op in migration("shop", number, ops(body)).operations:
            Replayer(plain, "shop", f"{number:04d}_m").apply(op)
    assert dict(replayed) == plain
    pointing = [f.related_model for m in plain.values() for f in m.fields if f.related_model]
    assert len(pointing) > 20  # relations, repointed by renames, took part
