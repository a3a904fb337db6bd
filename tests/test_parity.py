"""Parity with django-migration-linter: its check categories, on fixtures of our own.

django-migration-linter (3YOURMIND) reads the SQL ``sqlmigrate`` prints and reports NOT NULL
columns, dropped and renamed columns and tables, altered columns, unique constraints, indexes,
irreversible RunPython/RunSQL and models imported into data migrations. Each case below is a
small migration of a ``library`` app written for this suite (not taken from that project) with
the codes this tool reports for it. Where this tool is deliberately quieter (a false alarm it
avoids), the case id ends in ``-quieter`` and ``why`` says what the SQL-reading check gets
wrong; where it reports something that check cannot see, the id ends in ``-stricter``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import lint_files

INITIAL = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    operations = [
        migrations.CreateModel(
            name="Author",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("name", models.CharField(max_length=120)),
            ],
        ),
        migrations.CreateModel(
            name="Book",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("title", models.CharField(max_length=200)),
                ("isbn", models.CharField(max_length=13, null=True)),
                ("pages", models.IntegerField(default=0)),
                ("summary", models.TextField(null=True)),
                ("author", models.ForeignKey(on_delete=models.CASCADE, to="library.author")),
            ],
        ),
    ]
"""

HEADER = "from django.db import migrations, models\n"


def ops(*operations: str, after: str = "0001_initial", header: str = HEADER, body: str = "") -> str:
    lines = "".join(f"        {op},\n" for op in operations)
    return (
        f"{header}{body}\n\nclass Migration(migrations.Migration):\n"
        f'    dependencies = [("library", "{after}")]\n'
        f"    operations = [\n{lines}    ]\n"
    )


@dataclass(frozen=True)
class Case:
    id: str
    source: str
    expected: frozenset[str]
    history: tuple[str, ...] = (INITIAL,)
    targets: tuple[str, ...] = ("postgresql",)
    why: str = ""


def case(
    id: str,
    source: str,
    *expected: str,
    history: tuple[str, ...] = (INITIAL,),
    targets: tuple[str, ...] = ("postgresql",),
    why: str = "",
) -> Case:
    return Case(id, source, frozenset(expected), history, targets, why)


NEW_TABLE = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("library", "0001_initial")]
    operations = [
        migrations.CreateModel("Shelf", [("id", models.BigAutoField(primary_key=True)), ("label", models.CharField(max_length=20))]),
        {op},
    ]
"""

STATE_ONLY_REMOVAL = ops(
    "migrations.SeparateDatabaseAndState(state_operations=["
    'migrations.RemoveField("book", "summary")])'
)

BOOKS_FUNCTION = """

def fill_pages(apps, schema_editor):
    Book = apps.get_model("library", "Book")
    Book.objects.filter(pages__lt=0).update(pages=0)
"""

IMPORTED_FUNCTION = """
from library.models import Book


def fill_pages(apps, schema_editor):
    Book.objects.filter(pages__lt=0).update(pages=0)
"""

CASES = [
    # -- NOT NULL -------------------------------------------------------------------------------
    case(
        "not-null-added-with-django-default",
        ops('migrations.AddField("book", "stock", models.IntegerField(default=0))'),
        "ML506",
    ),
    case(
        "not-null-added-with-db-default",
        ops('migrations.AddField("book", "stock", models.IntegerField(db_default=0))'),
    ),
    case(
        "nullable-column-added",
        ops('migrations.AddField("book", "stock", models.IntegerField(null=True))'),
    ),
    case(
        "not-null-added-to-table-created-here-quieter",
        NEW_TABLE.format(
            op='migrations.AddField("shelf", "capacity", models.IntegerField(default=0))'
        ),
        why="the SQL shows ADD COLUMN ... NOT NULL, but no running code uses a table created in "
        "the same migration",
    ),
    case(
        "column-made-not-null",
        ops('migrations.AlterField("book", "summary", models.TextField(default=""))'),
        "ML507",
    ),
    case(
        "sqlite-rebuild-is-not-a-not-null-quieter",
        ops('migrations.AlterField("book", "title", models.CharField(max_length=250))'),
        targets=("sqlite",),
        why="SQLite alters by rebuilding the table: the new CREATE TABLE lists every NOT NULL "
        "column, which an SQL reader takes for NOT NULL additions",
    ),
    # -- drop / rename column and table ---------------------------------------------------------
    case("column-dropped", ops('migrations.RemoveField("book", "summary")'), "ML508"),
    case(
        "table-dropped",
        ops('migrations.RemoveField("book", "author")', 'migrations.DeleteModel("Author")'),
        "ML508",
    ),
    case("column-removed-from-state-only", STATE_ONLY_REMOVAL),
    case(
        "column-dropped-after-state-removal-quieter",
        ops(
            'migrations.RunSQL(\'ALTER TABLE "library_book" DROP COLUMN "summary";\', migrations.RunSQL.noop)',
            after="0002_auto",
        ),
        history=(INITIAL, STATE_ONLY_REMOVAL),
        why="the RunSQL drops a column that Django's state (and the deployed code) no longer has: "
        "the second half of the safe two-deploy drop",
    ),
    case(
        "not-null-column-removed-from-state-only-stricter",
        ops(
            "migrations.SeparateDatabaseAndState(state_operations=["
            'migrations.RemoveField("book", "pages")])'
        ),
        "ML508",
        why="no SQL at all, yet the new code's inserts leave out a NOT NULL column that has no "
        "database default",
    ),
    case(
        "column-renamed",
        ops('migrations.RenameField("book", "summary", "blurb")'),
        "ML509",
    ),
    case(
        "column-renamed-in-state-only",
        ops(
            "migrations.SeparateDatabaseAndState(state_operations=["
            'migrations.RenameField("book", "summary", "blurb"), '
            'migrations.AlterField("book", "blurb", models.TextField(null=True, db_column="summary"))])'
        ),
    ),
    case("table-renamed", ops('migrations.RenameModel("Author", "Writer")'), "ML509"),
    case(
        "table-renamed-by-db-table",
        ops('migrations.AlterModelTable("author", "authors")'),
        "ML509",
    ),
    # -- alter column type ----------------------------------------------------------------------
    case(
        "varchar-lengthened-quieter",
        ops('migrations.AlterField("book", "title", models.CharField(max_length=300))'),
        why="ALTER COLUMN TYPE varchar(300) is a catalog change on PostgreSQL (no rewrite) and old "
        "code keeps working",
    ),
    case(
        "varchar-to-text-quieter",
        ops('migrations.AlterField("book", "title", models.TextField())'),
        why="varchar to text is binary coercible: no rewrite, old code keeps working",
    ),
    case(
        "numeric-precision-raised-quieter",
        ops(
            'migrations.AddField("book", "price", models.DecimalField(max_digits=8, decimal_places=2, null=True))',
            'migrations.AlterField("book", "price", models.DecimalField(max_digits=12, decimal_places=2, null=True))',
        ),
        why="more digits at the same scale is a catalog change on PostgreSQL",
    ),
    case(
        "integer-to-bigint",
        ops('migrations.AlterField("book", "pages", models.BigIntegerField(default=0))'),
        "ML510",
    ),
    case(
        "varchar-shortened",
        ops('migrations.AlterField("book", "title", models.CharField(max_length=100))'),
        "ML510",
    ),
    case(
        "field-class-changed-column-type-kept",
        ops(
            'migrations.AlterField("book", "isbn", models.SlugField(max_length=13, null=True, db_index=False))'
        ),
    ),
    # -- unique ---------------------------------------------------------------------------------
    case(
        "unique-added-to-existing-table",
        ops(
            'migrations.AlterField("book", "isbn", models.CharField(max_length=13, null=True, unique=True))'
        ),
        "ML101",
        "ML102",
    ),
    case(
        "unique-on-table-created-here",
        NEW_TABLE.format(op='migrations.AlterUniqueTogether("shelf", {("label",)})'),
    ),
    # -- index ----------------------------------------------------------------------------------
    case(
        "index-added-to-existing-table",
        ops('migrations.AddIndex("book", models.Index(fields=["title"], name="book_title_idx"))'),
        "ML105",
    ),
    case(
        "index-added-concurrently",
        "from django.contrib.postgres.operations import AddIndexConcurrently\n"
        + ops(
            'AddIndexConcurrently("book", models.Index(fields=["title"], name="book_title_idx"))'
        ).replace("    dependencies", "    atomic = False\n    dependencies"),
    ),
    # -- RunPython / RunSQL reversibility -------------------------------------------------------
    case(
        "run-python-without-reverse",
        ops("migrations.RunPython(fill_pages)", body=BOOKS_FUNCTION),
        "ML501",
    ),
    case(
        "run-python-with-noop-reverse",
        ops("migrations.RunPython(fill_pages, migrations.RunPython.noop)", body=BOOKS_FUNCTION),
    ),
    case(
        "run-sql-without-reverse",
        ops('migrations.RunSQL("UPDATE library_book SET pages = 0 WHERE pages < 0;")'),
        "ML502",
    ),
    case(
        "run-sql-with-reverse",
        ops(
            'migrations.RunSQL("UPDATE library_book SET pages = 0 WHERE pages < 0;", migrations.RunSQL.noop)'
        ),
    ),
    # -- model import ---------------------------------------------------------------------------
    case(
        "model-imported-into-run-python",
        ops("migrations.RunPython(fill_pages, migrations.RunPython.noop)", body=IMPORTED_FUNCTION),
        "ML503",
    ),
    case(
        "models-module-imported-for-a-callable-default",
        "import library.models\n"
        + ops(
            'migrations.AddField("book", "code", models.CharField(max_length=8, null=True, default=library.models.new_code))'
        ),
    ),
]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_verdict(tmp_path: Path, case: Case) -> None:
    files = [
        (f"library/migrations/{n:04d}_{'initial' if n == 1 else 'auto'}.py", source)
        for n, source in enumerate([*case.history, case.source], start=1)
    ]
    findings = lint_files(
        tmp_path,
        files,
        select=("ML1", "ML5"),
        vendors=tuple((t, None) for t in case.targets),
    )
    assert {f.code for f in findings} == case.expected, [
        f"{f.code} L{f.line}: {f.message}" for f in findings
    ]


# -- the seeds' scenario: a required ``bought`` counter on an existing Client table ----------------

CLIENT = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    operations = [
        migrations.CreateModel(
            name="Client",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("name", models.CharField(max_length=100)),
            ],
        ),
    ]
"""

ADD_NULLABLE = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.AddField("client", "bought", models.PositiveIntegerField(null=True))]
"""

BACKFILL = """\
from django.db import migrations


def fill_bought(apps, schema_editor):
    Client = apps.get_model("shop", "Client")
    Client.objects.filter(bought__isnull=True).update(bought=0)


class Migration(migrations.Migration):
    dependencies = [("shop", "0002_client_bought")]
    operations = [migrations.RunPython(fill_bought, migrations.RunPython.noop)]
"""

MAKE_REQUIRED = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0003_fill_bought")]
    operations = [migrations.AlterField("client", "bought", models.PositiveIntegerField(default=0))]
"""

MAKE_REQUIRED_SAFELY = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0003_fill_bought")]
    operations = [
        migrations.RunSQL(
            'ALTER TABLE "shop_client" ADD CONSTRAINT "shop_client_bought_not_null" CHECK ("bought" IS NOT NULL) NOT VALID;',
            'ALTER TABLE "shop_client" DROP CONSTRAINT IF EXISTS "shop_client_bought_not_null";',
        ),
    ]
"""

VALIDATE_AND_SET = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0004_bought_check")]
    operations = [
        migrations.RunSQL(
            'ALTER TABLE "shop_client" VALIDATE CONSTRAINT "shop_client_bought_not_null";',
            migrations.RunSQL.noop,
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    [
                        'ALTER TABLE "shop_client" ALTER COLUMN "bought" SET NOT NULL;',
                        'ALTER TABLE "shop_client" DROP CONSTRAINT "shop_client_bought_not_null";',
                    ],
                    'ALTER TABLE "shop_client" ALTER COLUMN "bought" DROP NOT NULL;',
                ),
            ],
            state_operations=[
                migrations.AlterField("client", "bought", models.PositiveIntegerField(default=0)),
            ],
        ),
    ]
"""


def _scenario(tmp_path: Path, last: list[tuple[str, str]], *targets: str) -> dict[str, set[str]]:
    files = [
        ("shop/migrations/0001_initial.py", CLIENT),
        ("shop/migrations/0002_client_bought.py", ADD_NULLABLE),
        ("shop/migrations/0003_fill_bought.py", BACKFILL),
        *last,
    ]
    findings = lint_files(
        tmp_path,
        files,
        *[path for path, _ in files[1:]],
        select=("ML1", "ML5"),
        vendors=tuple((t, None) for t in targets),
    )
    verdict: dict[str, set[str]] = {path.rpartition("/")[2]: set() for path, _ in files[1:]}
    for f in findings:
        verdict[f.path.rpartition("/")[2]].add(f.code)
    return verdict


def test_seed_scenario_required_counter_through_a_nullable_field(tmp_path: Path) -> None:
    """Nullable column, backfill with apps.get_model, then NOT NULL: only the last step is
    reported, and only for PostgreSQL's scan under ACCESS EXCLUSIVE (Django's AlterField also
    runs its own UPDATE of NULL rows there, because the field has a default)."""
    verdict = _scenario(
        tmp_path, [("shop/migrations/0004_client_bought_required.py", MAKE_REQUIRED)], "postgresql"
    )
    assert verdict == {
        "0002_client_bought.py": set(),
        "0003_fill_bought.py": set(),
        "0004_client_bought_required.py": {"ML507"},
    }


def test_seed_scenario_on_sqlite_and_mysql_is_quiet(tmp_path: Path) -> None:
    # ML507 is a claim about PostgreSQL's lock and scan; the three steps are the safe route.
    verdict = _scenario(
        tmp_path,
        [("shop/migrations/0004_client_bought_required.py", MAKE_REQUIRED)],
        "sqlite",
        "mysql",
    )
    assert all(codes == set() for codes in verdict.values()), verdict


def test_seed_scenario_with_the_not_valid_sequence_is_quiet(tmp_path: Path) -> None:
    verdict = _scenario(
        tmp_path,
        [
            ("shop/migrations/0004_bought_check.py", MAKE_REQUIRED_SAFELY),
            ("shop/migrations/0005_bought_not_null.py", VALIDATE_AND_SET),
        ],
        "postgresql",
    )
    assert all(codes == set() for codes in verdict.values()), verdict


def test_seed_scenario_in_one_step_is_what_the_rules_reject(tmp_path: Path) -> None:
    one_step = ADD_NULLABLE.replace("null=True", "default=0")
    findings = lint_files(
        tmp_path,
        [
            ("shop/migrations/0001_initial.py", CLIENT),
            ("shop/migrations/0002_client_bought.py", one_step),
        ],
        select=("ML5",),
        vendors=(("postgresql", None),),
    )
    assert [f.code for f in findings] == ["ML506"]
    titles = [step.title for step in findings[0].fix]
    # The plan offers db_default, then the seeds' three steps, with the user's names.
    assert titles[0].startswith("Django 5.0+: give shop_client.bought a database default")
    # Nullable column, fill, then ML507's CHECK NOT VALID and VALIDATE + SET NOT NULL.
    assert [t.split(" ")[0] for t in titles[1:]] == ["Or", "Then", "Then", "Then"]
    assert "Client.objects.filter(bought__isnull=True).update(bought=0)" in findings[0].fix[2].code
