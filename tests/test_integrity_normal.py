"""The normal form behind ``migrations.lock`` and ML201: what is, and is not, a change of meaning."""

from __future__ import annotations

import pytest

from migration_lint.integrity import lockfile
from migration_lint.integrity.normal import Unreadable, compare, normalise, normalise_sql

BASE = '''\
"""Order notes."""

from django.db import migrations, models


def forwards(apps, schema_editor):
    """Fill the note."""
    Order = apps.get_model("shop", "Order")
    Order.objects.update(note=helper())


def helper():
    return TEXT


TEXT = "none"


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [
        migrations.AddField("order", "note", models.CharField(max_length=20, default="")),
        migrations.RunSQL("UPDATE shop_order SET note = 'a  b'", migrations.RunSQL.noop),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
'''

SAME = {
    "reformatted": BASE.replace(
        'migrations.AddField("order", "note", models.CharField(max_length=20, default="")),',
        'migrations.AddField(\n            "order",\n            "note",\n'
        '            models.CharField(\n                max_length=20,\n                default="",\n'
        "            ),\n        ),",
    ),
    "comments": BASE.replace(
        "    operations = [", "    # the note\n    operations = [  # all of it"
    ),
    "docstrings removed": BASE.replace('"""Order notes."""\n', "").replace(
        '    """Fill the note."""\n', ""
    ),
    "class docstring added": BASE.replace(
        "class Migration(migrations.Migration):\n",
        'class Migration(migrations.Migration):\n    """Adds the note."""\n\n',
    ),
    "imports reordered and respelled": BASE.replace(
        "from django.db import migrations, models\n",
        "from django.db.models import CharField\nfrom django.db import models, migrations\n",
    ).replace("models.CharField(max_length", "CharField(max_length"),
    "keyword arguments": BASE.replace(
        'migrations.AddField("order", "note", models.CharField(max_length=20, default="")),',
        'migrations.AddField(field=models.CharField(default="", max_length=20), name="note", '
        'model_name="order"),',
    ),
    "tuples for lists": BASE.replace(
        '    dependencies = [("shop", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]',
        '    dependencies = (("auth", "0012_alter_user_first_name_max_length"), ("shop", "0001_initial"))',
    ),
    "atomic = True spelled out": BASE.replace(
        "class Migration(migrations.Migration):\n",
        "class Migration(migrations.Migration):\n    atomic = True\n    initial = False\n",
    ),
    "SQL whitespace and comments": BASE.replace(
        "\"UPDATE shop_order SET note = 'a  b'\"",
        '"""\n            -- the note\n            UPDATE shop_order\n'
        '            SET note = \'a  b\' /* keep */\n        """',
    ),
    "CRLF line endings": BASE.replace("\n", "\r\n"),
    "unused helper and import": BASE.replace(
        "TEXT = ", "import os\n\n\ndef unused():\n    return 1\n\n\nTEXT = "
    ),
    "local variable shadowing nothing": BASE.replace("Order", "Order"),
}

DIFFERENT = {
    "field argument": (
        BASE.replace("max_length=20", "max_length=30"),
        "operation 1 (AddField order.note): field changed",
    ),
    "operation added": (
        BASE.replace(
            "    ]\n",
            '        migrations.RemoveField("order", "legacy"),\n    ]\n',
        ),
        "operation 4 (RemoveField order.legacy) added",
    ),
    "operation removed": (
        BASE.replace("        migrations.RunPython(forwards, migrations.RunPython.noop),\n", ""),
        "operation 3 of the applied version (RunPython forwards()) removed",
    ),
    "dependency added": (
        BASE.replace('("shop", "0001_initial"),', '("shop", "0001_initial"), ("shop", "0002_x"),'),
        "dependencies changed",
    ),
    "atomic": (
        BASE.replace(
            "class Migration(migrations.Migration):\n",
            "class Migration(migrations.Migration):\n    atomic = False\n",
        ),
        "atomic changed",
    ),
    "initial": (
        BASE.replace(
            "class Migration(migrations.Migration):\n",
            "class Migration(migrations.Migration):\n    initial = True\n",
        ),
        "initial changed",
    ),
    "run_before": (
        BASE.replace(
            "class Migration(migrations.Migration):\n",
            'class Migration(migrations.Migration):\n    run_before = [("billing", "0001_initial")]\n',
        ),
        "run_before changed",
    ),
    "whitespace inside an SQL literal": (
        BASE.replace("'a  b'", "'a b'"),
        "operation 2 (RunSQL): sql changed",
    ),
    "RunPython function body": (
        BASE.replace("Order.objects.update", "Order.objects.filter(note='').update"),
        "operation 3 (RunPython forwards()): the code of forwards changed",
    ),
    "a helper the function calls": (
        BASE.replace("    return TEXT", "    return TEXT.upper()"),
        "operation 3 (RunPython forwards()): the code of helper changed",
    ),
    "a module constant the helper reads": (
        BASE.replace('TEXT = "none"', 'TEXT = "n/a"'),
        "operation 3 (RunPython forwards()): the code of TEXT changed",
    ),
    "RunPython reverse code": (
        BASE.replace(
            "migrations.RunPython(forwards, migrations.RunPython.noop)",
            "migrations.RunPython(forwards)",
        ),
        "operation 3 (RunPython forwards()): reverse_code changed",
    ),
    "where a name is imported from": (
        BASE.replace(
            "from django.db import migrations, models\n",
            "from django.db import migrations\nfrom shop import models\n",
        ),
        "operation 1 (AddField order.note): field changed",
    ),
    "operations reordered": (
        BASE.replace(
            "        migrations.RunSQL(\"UPDATE shop_order SET note = 'a  b'\", migrations.RunSQL.noop),\n"
            "        migrations.RunPython(forwards, migrations.RunPython.noop),\n",
            "        migrations.RunPython(forwards, migrations.RunPython.noop),\n"
            "        migrations.RunSQL(\"UPDATE shop_order SET note = 'a  b'\", migrations.RunSQL.noop),\n",
        ),
        "operation",
    ),
}


@pytest.mark.parametrize("variant", list(SAME))
def test_same_meaning_same_hash(variant: str) -> None:
    base, other = normalise(BASE, keep_nodes=True), normalise(SAME[variant], keep_nodes=True)
    assert base is not None and other is not None
    assert other.digest == base.digest
    assert compare(base, other) == []


@pytest.mark.parametrize("variant", list(DIFFERENT))
def test_change_of_meaning_changes_the_hash_and_is_named(variant: str) -> None:
    source, summary = DIFFERENT[variant]
    base, other = normalise(BASE, keep_nodes=True), normalise(source, keep_nodes=True)
    assert base is not None and other is not None
    assert other.digest != base.digest
    changes = compare(base, other)
    assert changes, variant
    assert changes[0].summary.startswith(summary), changes


@pytest.mark.parametrize("variant", [v for v in DIFFERENT if v != "operations reordered"])
def test_the_lock_records_enough_to_name_the_change(variant: str) -> None:
    """From a lock entry alone (no old source), the change is placed on its operation."""
    source, summary = DIFFERENT[variant]
    base, other = normalise(BASE, keep_nodes=True), normalise(source, keep_nodes=True)
    assert base is not None and other is not None
    entry = lockfile.entry_for("shop/0002_note", "shop/migrations/0002_note.py", base)
    assert entry.hash != other.digest
    changes = compare(entry, other)
    assert changes
    prefix = summary.split(":")[0].split(" (")[0]
    assert changes[0].summary.startswith(prefix), changes


def test_field_change_details_show_both_versions() -> None:
    base, other = (
        normalise(BASE, keep_nodes=True),
        normalise(DIFFERENT["field argument"][0], keep_nodes=True),
    )
    assert base is not None and other is not None
    (change,) = compare(base, other)
    assert change.details == (
        "- field=models.CharField(max_length=20, default='')",
        "+ field=models.CharField(max_length=30, default='')",
    )
    assert change.new_index == 0


def test_dependency_moved_to_the_squash_that_replaces_it_is_no_change() -> None:
    moved = BASE.replace('("shop", "0001_initial")', '("shop", "0001_squashed_0003_x")')
    base, other = normalise(BASE, keep_nodes=True), normalise(moved, keep_nodes=True)
    assert base is not None and other is not None
    assert compare(base, other)
    assert compare(base, other, {"shop/0001_initial": "shop/0001_squashed_0003_x"}) == []


def test_not_a_migration_and_unreadable() -> None:
    assert normalise("def helper():\n    return 1\n") is None
    with pytest.raises(Unreadable, match="line 1"):
        normalise("class Migration(:\n")


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT  1", "SELECT 1"),
        ("SELECT 1 -- one\n", "SELECT 1"),
        ("SELECT /* a */ 1", "SELECT 1"),
        ("SELECT 'a  b'", "SELECT 'a  b'"),
        ("SELECT 'it''s  x'", "SELECT 'it''s  x'"),
        ('SELECT "my  col"', 'SELECT "my  col"'),
        ("SELECT $$a  -- b$$", "SELECT $$a  -- b$$"),
        ("SELECT $fn$ x  y $fn$", "SELECT $fn$ x  y $fn$"),
        ("\n  UPDATE t\n  SET a = 1;\n", "UPDATE t SET a = 1;"),
    ],
)
def test_normalise_sql(sql: str, expected: str) -> None:
    assert normalise_sql(sql) == expected


def test_create_model_says_which_field_changed() -> None:
    from migration_lint.rules._history import INITIAL

    edited = INITIAL.replace("max_length=32", "max_length=64").replace(
        '                ("reference",',
        '                ("note", models.TextField()),\n                ("reference",',
    )
    base, other = normalise(INITIAL, keep_nodes=True), normalise(edited, keep_nodes=True)
    assert base is not None and other is not None
    (change,) = compare(base, other)
    assert change.summary == "operation 1 (CreateModel Order): fields (note, reference) changed"
    assert change.details == (
        "+ note: models.TextField()",
        "- reference: models.CharField(max_length=32)",
        "+ reference: models.CharField(max_length=64)",
    )
