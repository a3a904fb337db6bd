"""``parse_migration``: migration source to facts, without importing it."""

from __future__ import annotations

import pytest

from migration_lint.facts import (
    Call,
    Dependency,
    MigrationFacts,
    Operation,
    ParseError,
    Ref,
    Span,
    Suppression,
    Unknown,
)
from migration_lint.source.parse import _may_mutate, parse_migration

PATH = "shop/migrations/0002_change.py"
MIGRATION = """\
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
"""


def parse(source: str | bytes, path: str = PATH) -> MigrationFacts:
    data = source.encode("utf-8") if isinstance(source, str) else source
    return parse_migration(path, data, "shop", "shop.migrations.0002_change")


def operations(body: str) -> tuple[Operation, ...]:
    """The operations of a migration whose class body is ``body`` (under MIGRATION's imports)."""
    facts = parse(MIGRATION + body)
    assert facts.parse_error is None
    return facts.operations


def only_operation(source: str) -> Operation:
    facts = parse(source)
    assert facts.parse_error is None
    (op,) = facts.operations
    return op


def field_kwarg(expression: str, name: str = "default") -> object:
    """The value of ``models.IntegerField(default=<expression>)`` as the parser keeps it."""
    (op,) = operations(
        f"    operations = [\n"
        f'        migrations.AddField("order", "n", models.IntegerField({name}={expression})),\n'
        f"    ]\n"
    )
    field = op.kwargs["field"]
    assert isinstance(field, Call)
    return field.kwargs[name]


# --- operations by canonical qualified name -----------------------------------------------------


@pytest.mark.parametrize(
    ("source", "qualname"),
    (
        pytest.param(
            "from django.db import migrations\n"
            "class Migration(migrations.Migration):\n"
            "    operations = [migrations.AddField('order', 'note', None)]\n",
            "django.db.migrations.AddField",
            id="from-django.db-import-migrations",
        ),
        pytest.param(
            "from django.db.migrations import AddField, Migration\n"
            "class Migration(Migration):\n"
            "    operations = [AddField('order', 'note', None)]\n",
            "django.db.migrations.AddField",
            id="from-migrations-import-class",
        ),
        pytest.param(
            "from django.db.migrations import AddField as AF\n"
            "class Migration:\n"
            "    operations = [AF('order', 'note', None)]\n",
            "django.db.migrations.AddField",
            id="import-as-alias",
        ),
        pytest.param(
            "import django.db.migrations as m\n"
            "class Migration(m.Migration):\n"
            "    operations = [m.AddField('order', 'note', None)]\n",
            "django.db.migrations.AddField",
            id="import-module-as",
        ),
        pytest.param(
            "import django.db.migrations\n"
            "class Migration(django.db.migrations.Migration):\n"
            "    operations = [django.db.migrations.AddField('order', 'note', None)]\n",
            "django.db.migrations.AddField",
            id="import-dotted-module",
        ),
        pytest.param(
            "from django.db import migrations as mig\n"
            "class Migration(mig.Migration):\n"
            "    operations = [mig.AddField('order', 'note', None)]\n",
            "django.db.migrations.AddField",
            id="from-django.db-import-migrations-as",
        ),
        pytest.param(
            "from django.db.migrations.operations.fields import AddField\n"
            "class Migration:\n"
            "    operations = [AddField('order', 'note', None)]\n",
            "django.db.migrations.AddField",
            id="defining-module",
        ),
        pytest.param(
            "from django.db.migrations.operations import RunSQL\n"
            "class Migration:\n"
            "    operations = [RunSQL('SELECT 1')]\n",
            "django.db.migrations.RunSQL",
            id="operations-package",
        ),
        pytest.param(
            "from django.db.migrations.operations.special import RunPython\n"
            "class Migration:\n"
            "    operations = [RunPython(print)]\n",
            "django.db.migrations.RunPython",
            id="special-module",
        ),
        pytest.param(
            "from django.contrib.postgres.operations import AddIndexConcurrently\n"
            "class Migration:\n"
            "    operations = [AddIndexConcurrently('order', None)]\n",
            "django.contrib.postgres.operations.AddIndexConcurrently",
            id="postgres-operation",
        ),
        pytest.param(
            "from django.contrib.postgres import operations as pg\n"
            "class Migration:\n"
            "    operations = [pg.AddIndexConcurrently('order', None)]\n",
            "django.contrib.postgres.operations.AddIndexConcurrently",
            id="postgres-operations-module-alias",
        ),
        pytest.param(
            "from django_pg_migration_tools import operations as pg_ops\n"
            "class Migration:\n"
            "    operations = [pg_ops.SaferAddUniqueConstraint(model_name='order')]\n",
            "django_pg_migration_tools.operations.SaferAddUniqueConstraint",
            id="third-party-keeps-its-qualname",
        ),
        pytest.param(
            "class Migration:\n    operations = [SomethingUnimported()]\n",
            "SomethingUnimported",
            id="unimported-name-as-written",
        ),
    ),
)
def test_operation_qualname_whatever_the_import_style(source: str, qualname: str) -> None:
    op = only_operation(source)
    assert op.qualname == qualname
    assert op.name == qualname.rpartition(".")[2]
    assert not op.dynamic


def test_field_and_deletion_names_are_canonical() -> None:
    source = (
        "from django.db import migrations\n"
        "from django.db.models.fields.related import ForeignKey\n"
        "import django.db.models.deletion\n"
        "class Migration(migrations.Migration):\n"
        "    operations = [\n"
        "        migrations.AddField('order', 'shop', ForeignKey('shop.Shop', django.db.models.deletion.PROTECT)),\n"
        "    ]\n"
    )
    field = only_operation(source).kwargs["field"]
    assert field == Call(
        "django.db.models.ForeignKey",
        ("shop.Shop", Ref("django.db.models.PROTECT")),
        {"to": "shop.Shop", "on_delete": Ref("django.db.models.PROTECT")},
        line=6,
        column=46,
    )


# --- arguments ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    (
        pytest.param('migrations.AddField("order", "note", models.TextField())', id="positional"),
        pytest.param(
            'migrations.AddField(model_name="order", name="note", field=models.TextField())',
            id="keyword",
        ),
        pytest.param(
            'migrations.AddField("order", field=models.TextField(), name="note")', id="mixed"
        ),
    ),
)
def test_positional_and_keyword_arguments_bind_to_the_same_names(call: str) -> None:
    (op,) = operations(f"    operations = [{call}]\n")
    assert op.kwargs["model_name"] == "order"
    assert op.arg("model_name", 0) == "order"
    assert op.kwargs["name"] == "note"
    assert isinstance(op.kwargs["field"], Call)
    assert op.kwargs["field"].qualname == "django.db.models.TextField"


@pytest.mark.parametrize(
    ("call", "expected"),
    (
        pytest.param(
            'migrations.RenameField("order", "note", "memo")',
            {"model_name": "order", "old_name": "note", "new_name": "memo"},
            id="RenameField",
        ),
        pytest.param(
            'migrations.RemoveIndex("order", "order_note_idx")',
            {"model_name": "order", "name": "order_note_idx"},
            id="RemoveIndex",
        ),
        pytest.param(
            'migrations.AlterUniqueTogether("order", {("a", "b")})',
            {"name": "order", "unique_together": (("a", "b"),)},
            id="AlterUniqueTogether",
        ),
        pytest.param(
            'migrations.RunSQL("SELECT 1", "SELECT 2")',
            {"sql": "SELECT 1", "reverse_sql": "SELECT 2"},
            id="RunSQL",
        ),
        pytest.param(
            'migrations.AlterModelTable("order", None)',
            {"name": "order", "table": None},
            id="AlterModelTable-None",
        ),
        pytest.param(
            'migrations.RenameModel("Order", new_name="Purchase")',
            {"old_name": "Order", "new_name": "Purchase"},
            id="RenameModel",
        ),
        pytest.param(
            "migrations.DeleteModel(*names)",
            {},
            id="starred-args-not-bound-by-name",
        ),
    ),
)
def test_positional_arguments_of_django_operations(call: str, expected: dict[str, object]) -> None:
    (op,) = operations(f"    operations = [{call}]\n")
    assert {k: v for k, v in op.kwargs.items() if k in expected} == expected
    assert set(expected) <= set(op.kwargs) or expected == {}


def test_starred_positional_argument_is_unknown() -> None:
    (op,) = operations("    operations = [migrations.DeleteModel(*names)]\n")
    assert op.args == (Unknown("*names"),)
    assert op.kwargs == {"name": Unknown("*names")}


@pytest.mark.parametrize(
    ("expression", "expected"),
    (
        pytest.param('"text"', "text", id="string"),
        pytest.param("'single'", "single", id="single-quoted"),
        pytest.param('"implicit" " concatenation"', "implicit concatenation", id="implicit-concat"),
        pytest.param('"plus" + "sign"', "plussign", id="string-plus"),
        pytest.param("(1, 2)", (1, 2), id="tuple"),
        pytest.param("[1, 2]", (1, 2), id="list-as-tuple"),
        pytest.param("()", (), id="empty-tuple"),
        pytest.param("[(1, 'a'), [2, 'b']]", ((1, "a"), (2, "b")), id="nested-lists"),
        pytest.param("(1,) + (2,)", (1, 2), id="tuple-plus"),
        pytest.param("{'a': 1, 'b': [2]}", {"a": 1, "b": (2,)}, id="dict"),
        pytest.param("{}", {}, id="empty-dict"),
        pytest.param("-5", -5, id="negative-int"),
        pytest.param("-1.5", -1.5, id="negative-float"),
        pytest.param("+3", 3, id="unary-plus"),
        pytest.param("0", 0, id="zero"),
        pytest.param("None", None, id="None"),
        pytest.param("True", True, id="True"),
        pytest.param("False", False, id="False"),
        pytest.param("b'raw'", b"raw", id="bytes"),
        pytest.param('"caf\\u00e9"', "café", id="escape"),
    ),
)
def test_literals(expression: str, expected: object) -> None:
    value = field_kwarg(expression)
    assert value == expected
    assert type(value) is type(expected) or isinstance(expected, dict)


@pytest.mark.parametrize(
    ("expression", "source"),
    (
        pytest.param('f"{prefix}_x"', 'f"{prefix}_x"', id="f-string"),
        pytest.param("lambda: 1", "lambda: 1", id="lambda"),
        pytest.param("a if b else c", "a if b else c", id="conditional"),
        pytest.param("{1: 'a'}", "{1: 'a'}", id="dict-non-string-key"),
        pytest.param("{**base}", "{**base}", id="dict-unpacking"),
        pytest.param("[*base, 1]", "[*base, 1]", id="list-unpacking"),
        pytest.param("1j", "1j", id="complex"),
        pytest.param("...", "...", id="ellipsis"),
        pytest.param("2 * 3", "2 * 3", id="arithmetic"),
        pytest.param("-True", "-True", id="negated-bool"),
        pytest.param("names[0]", "names[0]", id="subscript"),
        pytest.param("get()()", "get()()", id="call-of-call"),
    ),
)
def test_unknown_values_keep_their_source(expression: str, source: str) -> None:
    assert field_kwarg(expression) == Unknown(source)


def test_double_star_kwargs_are_unknown() -> None:
    (op,) = operations(
        '    operations = [migrations.AddField("order", "n", models.IntegerField(null=True, **extra))]\n'
    )
    field = op.kwargs["field"]
    assert isinstance(field, Call)
    assert field.kwargs == {"null": True, "**": Unknown("extra")}


def test_field_call_keeps_qualname_kwargs_and_position() -> None:
    (op,) = operations(
        "    operations = [\n"
        "        migrations.AddField(\n"
        '            "order",\n'
        '            "code",\n'
        '            models.CharField("Code", max_length=12, unique=True, db_index=False),\n'
        "        ),\n"
        "    ]\n"
    )
    assert op.kwargs["field"] == Call(
        "django.db.models.CharField",
        ("Code",),
        {"max_length": 12, "unique": True, "db_index": False, "verbose_name": "Code"},
        line=10,
        column=13,
    )


@pytest.mark.parametrize(
    ("expression", "expected"),
    (
        pytest.param(
            "settings.AUTH_USER_MODEL",
            Ref("django.conf.settings.AUTH_USER_MODEL"),
            id="auth-user-model",
        ),
        pytest.param("models.CASCADE", Ref("django.db.models.CASCADE"), id="on-delete"),
        pytest.param("models.SET_NULL", Ref("django.db.models.SET_NULL"), id="set-null"),
        pytest.param("forwards", Ref("forwards"), id="local-name"),
    ),
)
def test_names_and_attributes_are_refs(expression: str, expected: Ref) -> None:
    assert field_kwarg(expression, "to") == expected


def test_foreign_key_binds_to_and_on_delete() -> None:
    (op,) = operations(
        "    operations = [\n"
        "        migrations.AddField(\n"
        '            "order", "user", models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE)\n'
        "        ),\n"
        "    ]\n"
    )
    field = op.kwargs["field"]
    assert isinstance(field, Call)
    assert field.kwargs["to"] == Ref("django.conf.settings.AUTH_USER_MODEL")
    assert field.kwargs["on_delete"] == Ref("django.db.models.CASCADE")
    assert field.arg("to", 0) == Ref("django.conf.settings.AUTH_USER_MODEL")


def test_decimal_field_positional_arguments() -> None:
    (op,) = operations(
        '    operations = [migrations.AlterField("order", "total", models.DecimalField("Total", None, 10, 2))]\n'
    )
    field = op.kwargs["field"]
    assert isinstance(field, Call)
    assert field.kwargs == {
        "verbose_name": "Total",
        "name": None,
        "max_digits": 10,
        "decimal_places": 2,
    }


def test_create_model_fields_and_options() -> None:
    (op,) = operations(
        "    operations = [\n"
        "        migrations.CreateModel(\n"
        '            name="Order",\n'
        "            fields=[\n"
        '                ("id", models.BigAutoField(primary_key=True)),\n'
        '                ("code", models.CharField(max_length=5)),\n'
        "            ],\n"
        '            options={"db_table": "orders", "unique_together": {("code",)}},\n'
        "        ),\n"
        "    ]\n"
    )
    assert op.qualname == "django.db.migrations.CreateModel"
    fields = op.kwargs["fields"]
    assert isinstance(fields, tuple)
    assert [f[0] for f in fields if isinstance(f, tuple)] == ["id", "code"]
    assert all(isinstance(f, tuple) and isinstance(f[1], Call) for f in fields)
    assert op.kwargs["options"] == {"db_table": "orders", "unique_together": (("code",),)}


# --- nested operations --------------------------------------------------------------------------


def _nested(op: Operation) -> dict[str, list[tuple[str, tuple[int | str, ...]]]]:
    return {key: [(o.name, o.path) for o in ops] for key, ops in op.nested.items()}


@pytest.mark.parametrize(
    ("call", "expected"),
    (
        pytest.param(
            "migrations.SeparateDatabaseAndState(\n"
            '            database_operations=[migrations.RunSQL("SELECT 1")],\n'
            '            state_operations=[migrations.DeleteModel("A"), migrations.DeleteModel("B")],\n'
            "        )",
            {
                "database_operations": [("RunSQL", (1, "database_operations", 0))],
                "state_operations": [
                    ("DeleteModel", (1, "state_operations", 0)),
                    ("DeleteModel", (1, "state_operations", 1)),
                ],
            },
            id="separate-keyword",
        ),
        pytest.param(
            "migrations.SeparateDatabaseAndState(\n"
            '            [migrations.RunSQL("SELECT 1")], [migrations.DeleteModel("A")]\n'
            "        )",
            {
                "database_operations": [("RunSQL", (1, "database_operations", 0))],
                "state_operations": [("DeleteModel", (1, "state_operations", 0))],
            },
            id="separate-positional",
        ),
        pytest.param(
            "migrations.SeparateDatabaseAndState(state_operations=[])",
            {"state_operations": []},
            id="separate-empty",
        ),
        pytest.param(
            'migrations.RunSQL("SELECT 1", state_operations=[migrations.DeleteModel("A")])',
            {"state_operations": [("DeleteModel", (1, "state_operations", 0))]},
            id="runsql-keyword",
        ),
        pytest.param(
            'migrations.RunSQL("x", "y", [migrations.DeleteModel("A")])',
            {"state_operations": [("DeleteModel", (1, "state_operations", 0))]},
            id="runsql-positional",
        ),
        pytest.param(
            "migrations.SeparateDatabaseAndState(\n"
            '            state_operations=[migrations.DeleteModel("A")] + [migrations.DeleteModel("B")]\n'
            "        )",
            {
                "state_operations": [
                    ("DeleteModel", (1, "state_operations", 0)),
                    ("DeleteModel", (1, "state_operations", 1)),
                ]
            },
            id="separate-concatenated",
        ),
        pytest.param(
            "migrations.SeparateDatabaseAndState(\n"
            "            state_operations=[\n"
            "                migrations.SeparateDatabaseAndState(\n"
            '                    state_operations=[migrations.DeleteModel("A")]\n'
            "                )\n"
            "            ]\n"
            "        )",
            {"state_operations": [("SeparateDatabaseAndState", (1, "state_operations", 0))]},
            id="separate-inside-separate",
        ),
    ),
)
def test_nested_operations_and_their_paths(call: str, expected: dict[str, object]) -> None:
    ops = operations(
        f'    operations = [\n        migrations.DeleteModel("Z"),\n        {call},\n    ]\n'
    )
    assert len(ops) == 2
    assert ops[1].path == (1,)
    assert _nested(ops[1]) == expected


def test_walk_visits_nested_operations_depth_first() -> None:
    facts = parse(
        MIGRATION
        + "    operations = [\n"
        + "        migrations.SeparateDatabaseAndState(\n"
        + "            state_operations=[\n"
        + "                migrations.SeparateDatabaseAndState(\n"
        + '                    state_operations=[migrations.DeleteModel("A")]\n'
        + "                ),\n"
        + '                migrations.DeleteModel("B"),\n'
        + "            ],\n"
        + "        ),\n"
        + "    ]\n"
    )
    assert [(op.name, op.path) for op in facts.all_operations()] == [
        ("SeparateDatabaseAndState", (0,)),
        ("SeparateDatabaseAndState", (0, "state_operations", 0)),
        ("DeleteModel", (0, "state_operations", 0, "state_operations", 0)),
        ("DeleteModel", (0, "state_operations", 1)),
    ]


def test_nested_operation_span() -> None:
    (op,) = operations(
        "    operations = [\n"
        "        migrations.SeparateDatabaseAndState(\n"
        '            state_operations=[migrations.DeleteModel("A")],\n'
        "        ),\n"
        "    ]\n"
    )
    (nested,) = op.nested["state_operations"]
    assert nested.span == Span(8, 31, 8, 58)


# --- the class attributes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "atomic", "initial"),
    (
        pytest.param("    operations = []\n", True, None, id="defaults"),
        pytest.param("    atomic = False\n", False, None, id="atomic-false"),
        pytest.param("    atomic = True\n", True, None, id="atomic-true"),
        pytest.param("    initial = True\n", True, True, id="initial-true"),
        pytest.param("    initial = False\n", True, False, id="initial-false"),
        pytest.param("    atomic: bool = False\n", False, None, id="annotated"),
        pytest.param("    atomic = ATOMIC\n", None, None, id="atomic-not-literal"),
    ),
)
def test_atomic_and_initial(body: str, atomic: bool | None, initial: bool | None) -> None:
    facts = parse(MIGRATION + body)
    assert (facts.atomic, facts.initial) == (atomic, initial)


def test_dependencies_run_before_and_replaces() -> None:
    facts = parse(
        MIGRATION
        + "    replaces = [\n"
        + '        ("shop", "0001_initial"),\n'
        + '        ["shop", "0002_old"],\n'
        + "    ]\n"
        + '    run_before = [("billing", "0001_initial")]\n'
        + "    dependencies = [\n"
        + '        ("shop", "0001_initial"),\n'
        + "        migrations.swappable_dependency(settings.AUTH_USER_MODEL),\n"
        + '        ("contenttypes", "__first__"),\n'
        + "    ]\n"
    )
    assert facts.replaces == (
        Dependency("shop", "0001_initial", line=7),
        Dependency("shop", "0002_old", line=8),
    )
    assert facts.run_before == (Dependency("billing", "0001_initial", line=10),)
    assert facts.dependencies == (
        Dependency("shop", "0001_initial", line=12),
        Dependency("auth", "__first__", swappable="AUTH_USER_MODEL", line=13),
        Dependency("contenttypes", "__first__", line=14),
    )
    assert not facts.dynamic_dependencies
    assert facts.dependencies[0].key == ("shop", "0001_initial")


@pytest.mark.parametrize(
    "body",
    (
        pytest.param("    dependencies = DEPENDENCIES\n", id="variable"),
        pytest.param('    dependencies = [("shop", name)]\n', id="non-literal-entry"),
        pytest.param(
            "    dependencies = [migrations.swappable_dependency(value)]\n", id="swappable-variable"
        ),
        pytest.param(
            "    dependencies = [migrations.swappable_dependency(get_user_model())]\n",
            id="swappable-call",
        ),
        pytest.param(
            '    dependencies = [("shop", "0001_initial")]\n    dependencies += EXTRA\n',
            id="augmented",
        ),
    ),
)
def test_dynamic_dependencies(body: str) -> None:
    facts = parse(MIGRATION + body)
    assert facts.parse_error is None
    assert facts.dynamic_dependencies


@pytest.mark.parametrize(
    ("entry", "expected"),
    (
        pytest.param(
            "migrations.swappable_dependency(settings.AUTH_USER_MODEL)",
            Dependency("auth", "__first__", swappable="AUTH_USER_MODEL", line=7),
            id="auth-user-model",
        ),
        pytest.param(
            "migrations.swappable_dependency(settings.OAUTH2_PROVIDER_APPLICATION_MODEL)",
            Dependency(
                "oauth2_provider_application_model",
                "__first__",
                swappable="OAUTH2_PROVIDER_APPLICATION_MODEL",
                line=7,
            ),
            id="other-setting",
        ),
        pytest.param(
            'migrations.swappable_dependency("accounts.User")',
            Dependency("accounts", "__first__", line=7),
            id="setting-value-spelled-out",
        ),
    ),
)
def test_swappable_dependency(entry: str, expected: Dependency) -> None:
    facts = parse(MIGRATION + "    dependencies = [\n        " + entry + ",\n    ]\n")
    assert facts.dependencies == (expected,)
    assert not facts.dynamic_dependencies


def test_name_app_label_and_class_span() -> None:
    facts = parse(MIGRATION + "    operations = []\n")
    assert (facts.app_label, facts.name, facts.path) == ("shop", "0002_change", PATH)
    assert facts.key == ("shop", "0002_change")
    assert facts.is_migration
    assert facts.class_span == Span(5, 1, 5, 16)


def test_windows_path_gives_the_name() -> None:
    facts = parse(MIGRATION, path="shop\\migrations\\0003_windows.py")
    assert facts.name == "0003_windows"


# --- dynamic operations -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prelude", "body", "dynamic", "expected"),
    (
        pytest.param(
            "",
            '    operations = [migrations.DeleteModel(name) for name in ("A", "B")]\n',
            True,
            [("", True, (0,))],
            id="list-comprehension",
        ),
        pytest.param(
            "def helper():\n    return []\n",
            '    operations = [*helper(), migrations.DeleteModel("B")]\n',
            True,
            [("", True, (0,)), ("DeleteModel", False, (1,))],
            id="starred-helper",
        ),
        pytest.param(
            "def helper():\n    return []\n",
            '    operations = [helper(), migrations.DeleteModel("B")]\n',
            True,
            [("helper", True, (0,)), ("DeleteModel", False, (1,))],
            id="local-function-call",
        ),
        pytest.param(
            'OPS = [migrations.DeleteModel("A"), migrations.DeleteModel("B")]\n',
            "    operations = OPS\n",
            False,
            [("DeleteModel", False, (0,)), ("DeleteModel", False, (1,))],
            id="module-level-list-resolved",
        ),
        pytest.param(
            "def build():\n    return []\n",
            "    operations = build()\n",
            True,
            [("", True, (0,))],
            id="built-by-function",
        ),
        pytest.param(
            "",
            '    operations = [migrations.DeleteModel("A")]\n'
            '    operations += [migrations.DeleteModel("B")]\n',
            True,
            [("DeleteModel", False, (0,))],
            id="augmented-assignment",
        ),
        pytest.param(
            "",
            '    operations = [migrations.DeleteModel("A")]\n'
            '    operations = [migrations.DeleteModel("B")]\n',
            True,
            [("DeleteModel", False, (0,))],
            id="reassigned",
        ),
        pytest.param(
            "",
            '    operations = [migrations.DeleteModel("A")] + [\n'
            '        migrations.DeleteModel("B"),\n'
            '        migrations.DeleteModel("C"),\n'
            "    ]\n",
            False,
            [
                ("DeleteModel", False, (0,)),
                ("DeleteModel", False, (1,)),
                ("DeleteModel", False, (2,)),
            ],
            id="concatenated-lists",
        ),
        pytest.param(
            'OPS = [migrations.DeleteModel("A")]\n',
            '    operations = OPS + [migrations.DeleteModel("B")]\n',
            False,
            [("DeleteModel", False, (0,)), ("DeleteModel", False, (1,))],
            id="module-list-plus-list",
        ),
        pytest.param(
            'OPS = []\nOPS = OPS + [migrations.DeleteModel("A")]\n',
            "    operations = OPS\n",
            True,
            [("", True, (0,)), ("DeleteModel", False, (1,))],
            id="self-referencing-module-list",
        ),
        pytest.param(
            "A = B\nB = A\n",
            "    operations = A\n",
            True,
            [("", True, (0,))],
            id="names-referring-to-each-other",
        ),
        pytest.param(
            "",
            "    operations = [op, None, 'text']\n",
            True,
            [("", True, (0,)), ("", True, (1,)), ("", True, (2,))],
            id="not-constructor-calls",
        ),
        pytest.param(
            "",
            "    operations = [factory()(1)]\n",
            True,
            [("", True, (0,))],
            id="callee-not-a-name",
        ),
        pytest.param(
            "",
            "    operations = ()\n",
            False,
            [],
            id="empty-tuple",
        ),
        pytest.param("", "    pass\n", False, [], id="no-operations"),
        pytest.param(
            "",
            '    operations = [migrations.DeleteModel("A")]\n'
            "    if settings.DEBUG:\n"
            '        operations.append(migrations.DeleteModel("B"))\n',
            True,
            [("DeleteModel", False, (0,))],
            id="appended-in-the-class-body",
        ),
        pytest.param(
            'OPS = [migrations.DeleteModel("A")]\nOPS.extend(more)\n',
            "    operations = OPS\n",
            True,
            [("", True, (0,))],
            id="module-list-changed-in-place",
        ),
        pytest.param(
            'OPS = [migrations.DeleteModel("A")]\nfor name in NAMES:\n    OPS += [name]\n',
            "    operations = OPS\n",
            True,
            [("", True, (0,))],
            id="module-list-changed-in-a-loop",
        ),
        pytest.param(
            "def helper():\n    ops = []\n    ops.append(1)\n    return ops\n",
            '    operations = [migrations.DeleteModel("A")]\n',
            False,
            [("DeleteModel", False, (0,))],
            id="local-list-in-a-function-is-another-scope",
        ),
    ),
)
def test_dynamic_operations_never_crash(
    prelude: str, body: str, dynamic: bool, expected: list[tuple[str, bool, tuple[int, ...]]]
) -> None:
    source = (
        "from django.db import migrations\n"
        + prelude
        + "class Migration(migrations.Migration):\n"
        + body
    )
    facts = parse(source)
    assert facts.parse_error is None
    assert facts.dynamic_operations is dynamic
    assert [(op.name, op.dynamic, op.path) for op in facts.operations] == expected


@pytest.mark.parametrize(
    ("after", "operations", "dependencies"),
    (
        pytest.param(
            'Migration.operations.append(migrations.DeleteModel("B"))\n',
            True,
            False,
            id="operations",
        ),
        pytest.param(
            'Migration.dependencies += [("shop", "0001_initial")]\n', False, True, id="dependencies"
        ),
        pytest.param("Migration.operations[0] = None\n", True, False, id="item-assignment"),
        pytest.param("Migration.atomic = False\n", False, False, id="other-attribute"),
    ),
)
def test_class_attributes_changed_after_the_class(
    after: str, operations: bool, dependencies: bool
) -> None:
    facts = parse(
        MIGRATION
        + "    dependencies = []\n"
        + '    operations = [migrations.DeleteModel("A")]\n'
        + "\n\n"
        + after
    )
    assert (facts.dynamic_operations, facts.dynamic_dependencies) == (operations, dependencies)


def test_dynamic_operation_keeps_its_source_and_reason() -> None:
    facts = parse(
        "from django.db import migrations\n"
        "def helper(name):\n"
        "    return migrations.DeleteModel(name)\n"
        "class Migration(migrations.Migration):\n"
        '    operations = [helper("A")]\n'
    )
    (op,) = facts.operations
    assert op.dynamic
    assert op.qualname == "helper"
    assert op.source == 'helper("A")'
    assert op.args == ()
    assert op.kwargs == {"reason": "built by helper()"}
    assert op.span == Span(5, 19, 5, 30)


# --- spans --------------------------------------------------------------------------------------


def test_span_of_a_multi_line_operation_after_non_ascii_text() -> None:
    source = (
        "from django.db import migrations, models\n"  # 1
        "\n"  # 2
        "\n"  # 3
        "class Migration(migrations.Migration):\n"  # 4
        "    operations = [\n"  # 5
        "        # Ajoute la référence « client » (éèà)\n"  # 6
        "        migrations.AddField(\n"  # 7
        '            "commande",\n'  # 8
        '            "référence",\n'  # 9
        '            models.CharField(max_length=10, default="é"),\n'  # 10
        "        ),\n"  # 11
        "    ]\n"
    )
    op = only_operation(source)
    assert op.span == Span(line=7, column=9, end_line=11, end_column=10)
    field = op.kwargs["field"]
    assert isinstance(field, Call)
    assert (field.line, field.column) == (10, 13)


@pytest.mark.parametrize(
    ("line", "spans"),
    (
        pytest.param(
            '        migrations.RunSQL("SELECT 1"), migrations.DeleteModel("B"),\n',
            [Span(6, 9, 6, 38), Span(6, 40, 6, 67)],
            id="ascii",
        ),
        pytest.param(
            '        migrations.RunSQL("SELECT \'é\'"), migrations.DeleteModel("Ü"),\n',
            [Span(6, 9, 6, 40), Span(6, 42, 6, 69)],
            id="non-ascii-counts-characters",
        ),
        pytest.param(
            '        migrations.RunSQL("日本語"), migrations.DeleteModel("😀"),\n',
            [Span(6, 9, 6, 33), Span(6, 35, 6, 62)],
            id="wide-characters",
        ),
    ),
)
def test_columns_are_characters_not_bytes(line: str, spans: list[Span]) -> None:
    source = (
        "from django.db import migrations\n"
        "\n"
        "\n"
        "class Migration(migrations.Migration):\n"
        "    operations = [\n" + line + "    ]\n"
    )
    assert [op.span for op in parse(source).operations] == spans


def test_columns_in_a_latin1_file_with_a_coding_cookie() -> None:
    source = (
        "# -*- coding: latin-1 -*-\n"
        "from django.db import migrations\n"
        "class Migration(migrations.Migration):\n"
        "    operations = [migrations.RunSQL('é'), migrations.DeleteModel('A')]\n"
    ).encode("latin-1")
    facts = parse(source)
    assert facts.parse_error is None
    assert [op.span for op in facts.operations] == [Span(4, 19, 4, 41), Span(4, 43, 4, 70)]
    assert facts.operations[0].kwargs["sql"] == "é"


def test_unknown_source_in_a_latin1_file() -> None:
    source = (
        "# -*- coding: latin-1 -*-\n"
        "from django.db import migrations\n"
        "class Migration(migrations.Migration):\n"
        "    operations = [migrations.RunSQL(f'é{x}')]\n"
    ).encode("latin-1")
    (op,) = parse(source).operations
    assert op.kwargs["sql"] == Unknown("f'é{x}'")


def test_span_with_a_utf8_bom() -> None:
    source = (
        b"\xef\xbb\xbffrom django.db import migrations\n"
        b"class Migration(migrations.Migration):\n"
        b"    operations = [migrations.DeleteModel('A')]\n"
    )
    facts = parse(source)
    assert facts.parse_error is None
    assert facts.operations[0].span == Span(3, 19, 3, 46)


# --- suppressions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("comment", "codes"),
    (
        pytest.param("# noqa: ML101", ("ML101",), id="one-code"),
        pytest.param("# noqa: ML101, ML2", ("ML101", "ML2"), id="code-and-prefix"),
        pytest.param("# noqa: ML", ("ML",), id="every-ML-code"),
        pytest.param("# noqa: ML because", ("ML",), id="ML-with-explanation"),
        pytest.param("# noqa: E501, ml9", ("E501", "ML9"), id="other-tool-and-ours"),
        pytest.param("# noqa:ML101,ML102", ("ML101", "ML102"), id="no-spaces"),
        pytest.param("# noqa: ML101 ML102", ("ML101", "ML102"), id="space-separated"),
        pytest.param("# NOQA:ml101", ("ML101",), id="upper-noqa-lower-code"),
        pytest.param("# noqa : ML101", ("ML101",), id="space-before-colon"),
        pytest.param("# noqa", (), id="bare"),
        pytest.param("# NoQA", (), id="bare-mixed-case"),
        pytest.param("# noqa ML101", (), id="no-colon-is-bare"),
        pytest.param("# noqa: E501", ("E501",), id="other-tool"),
        pytest.param("# noqa: ML101 the table is empty", ("ML101",), id="trailing-explanation"),
        pytest.param("# type: ignore  # noqa: ML1", ("ML1",), id="after-another-comment"),
    ),
)
def test_suppression_comments(comment: str, codes: tuple[str, ...]) -> None:
    prefix = '    operations = [migrations.DeleteModel("A")]  '
    facts = parse(MIGRATION + prefix + comment + "\n")
    column = len(prefix) + 1 + comment.index("#", 1 if comment.startswith("# type") else 0)
    assert facts.suppressions == (Suppression(6, column, codes),)


@pytest.mark.parametrize(
    "body",
    (
        pytest.param("    operations = []  # not a noqa\n", id="word-noqa-later"),
        pytest.param("    operations = []  # noqaz\n", id="longer-word"),
        pytest.param(
            '    operations = [migrations.RunSQL("SELECT 1  # noqa: ML101")]\n',
            id="inside-a-string",
        ),
        pytest.param(
            '    operations = [migrations.RunSQL("""\n# noqa: ML101\n""")]\n',
            id="inside-a-triple-quoted-string",
        ),
        pytest.param('    """Docstring # noqa: ML101."""\n', id="inside-a-docstring"),
    ),
)
def test_not_a_suppression(body: str) -> None:
    facts = parse(MIGRATION + body)
    assert facts.parse_error is None
    assert facts.suppressions == ()


def test_suppression_columns_count_characters() -> None:
    facts = parse(
        "# Migration générée\n"
        "from django.db import migrations\n"
        "class Migration(migrations.Migration):\n"
        '    operations = [migrations.RunSQL("é")]  # réf # noqa: ML101\n'
    )
    assert facts.suppressions == (Suppression(4, 50, ("ML101",)),)


def test_suppressions_on_several_lines() -> None:
    facts = parse(
        MIGRATION
        + "    operations = [\n"
        + "        migrations.AddField(  # noqa: ML101\n"
        + '            "order",\n'
        + '            "note",  # noqa\n'
        + "            models.TextField(),\n"
        + "        ),\n"
        + "    ]\n"
    )
    assert [(s.line, s.codes) for s in facts.suppressions] == [(7, ("ML101",)), (9, ())]


# --- files that are not (readable) migrations ---------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message", "line", "column"),
    (
        pytest.param(
            "from django.db import migrations\nclass Migration(migrations.Migration:\n",
            None,
            2,
            None,
            id="unclosed-paren",
        ),
        pytest.param(
            "from django.db import migrations\n"
            "class Migration(migrations.Migration):\n"
            "<<<<<<< HEAD\n"
            "    operations = []\n"
            "=======\n"
            "    operations = [1]\n"
            ">>>>>>> feature\n",
            None,
            3,
            None,
            id="merge-conflict",
        ),
        pytest.param(
            "class Migration:\n    operations = [\n",
            None,
            2,
            None,
            id="unclosed-bracket",
        ),
        pytest.param(
            "class Migration:\n  operations = []\n    atomic = False\n",
            "unexpected indent",
            3,
            None,
            id="indentation",
        ),
        pytest.param(
            b"from django.db import migrations\nX = '\xe9t\xe9'\n",
            "UTF-8",
            2,
            6,
            id="latin1-without-cookie",
        ),
        pytest.param(b"\xff\xfeclass Migration: pass\n", "UTF-8", 1, 1, id="utf16-bom"),
        pytest.param(
            b"# a\n# b\n# c\nx = '\xe9'\n", "UTF-8", 4, 6, id="invalid-byte-after-the-cookie-lines"
        ),
        pytest.param(
            b"# -*- coding: ascii -*-\nx = '\xe9'\n", "ascii", 2, 6, id="not-the-declared-encoding"
        ),
        pytest.param(b"# -*- coding: klingon -*-\n", "klingon", 1, 1, id="unknown-encoding"),
        pytest.param(
            b"from django.db import migrations\n\x00class Migration: pass\n",
            "null byte",
            2,
            1,
            id="null-byte",
        ),
        pytest.param(
            b"class Migration:\n    sql = 'a\x00b'\n", "null byte", 2, 13, id="null-byte-in-string"
        ),
        pytest.param(
            "x = " + "(" * 300 + ")" * 300 + "\n", None, 1, None, id="too-many-parentheses"
        ),
        pytest.param("x = 1" + " + 1" * 50_000 + "\n", None, 1, None, id="too-deep-for-ast"),
    ),
)
def test_unparsable_files_give_a_parse_error(
    source: str | bytes, message: str | None, line: int, column: int | None
) -> None:
    facts = parse(source)
    error = facts.parse_error
    assert isinstance(error, ParseError)
    assert error.message
    if message is not None:
        assert message in error.message
    assert error.line == line
    assert error.column >= 1
    if column is not None:
        assert error.column == column
    assert facts.operations == ()
    assert facts.name == "0002_change"


def test_syntax_error_position() -> None:
    facts = parse("from django.db import migrations\nclass Migration(migrations.Migration:\n")
    assert facts.parse_error == ParseError("invalid syntax", 2, 37)


def test_latin1_file_with_a_coding_cookie_parses() -> None:
    source = (
        "# -*- coding: latin-1 -*-\n"
        "from django.db import migrations\n"
        "\n"
        "\n"
        "class Migration(migrations.Migration):\n"
        "    operations = [migrations.RunSQL(\"UPDATE t SET name = 'Zoë'\")]  # noqa: ML501\n"
    ).encode("latin-1")
    facts = parse(source)
    assert facts.parse_error is None
    (op,) = facts.operations
    assert op.kwargs["sql"] == "UPDATE t SET name = 'Zoë'"
    assert facts.suppressions == (Suppression(6, 68, ("ML501",)),)


@pytest.mark.parametrize(
    "source",
    (
        pytest.param(b"", id="empty"),
        pytest.param(b"\n\n", id="blank-lines"),
        pytest.param(b"# just a comment\n", id="comment"),
        pytest.param(b"def helper():\n    return 1\n", id="helper-module"),
        pytest.param(b"class NotMigration:\n    operations = []\n", id="other-class"),
        pytest.param(
            b"if True:\n    class Migration:\n        operations = []\n",
            id="class-not-at-top-level",
        ),
    ),
)
def test_not_a_migration(source: bytes) -> None:
    facts = parse(source)
    assert facts.parse_error is None
    assert facts.is_migration is False
    assert facts.operations == ()


def test_imports_are_recorded() -> None:
    facts = parse(
        "import django.db.models.deletion\n"
        "from django.db import migrations\n"
        "from . import helpers\n"
        "class Migration(migrations.Migration):\n"
        "    operations = []\n"
    )
    assert facts.imports == ("django.db.models.deletion", "django.db", "shop.migrations")


@pytest.mark.parametrize(
    ("text", "expected"),
    (
        pytest.param(b"OPS += [x]\n", True, id="augmented"),
        pytest.param(b"OPS <<= 1\n", True, id="augmented-shift"),
        pytest.param(b"del OPS[0]\n", True, id="del"),
        pytest.param(b"if x:\n    del(OPS[0])\n", True, id="del-call-form"),
        pytest.param(b"OPS[0] = None\n", True, id="item"),
        pytest.param(b"Migration.atomic = False\n", True, id="attribute"),
        pytest.param(b"OPS . append (x)\n", True, id="method"),
        pytest.param(b"model = models.DeleteModel(deleted=1)\n", False, id="del-inside-words"),
        pytest.param(b"x = a == b\nf(k=1)\n", False, id="comparison-and-keyword"),
    ),
)
def test_files_that_may_change_a_list_in_place(text: bytes, expected: bool) -> None:
    # The cheap test that decides whether a file's statements are walked for in-place changes.
    assert _may_mutate(text) is expected
