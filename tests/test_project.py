"""Project mode end to end: Django settings loaded, exact names, app labels, bad input.

Each run is a subprocess (Django can be set up once per process) on a copy of
``tests/fixtures/project_shop``: a PostgreSQL project that is never connected to, with an app
whose label differs from its package and whose migrations live in MIGRATION_MODULES.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURE = Path(__file__).parent / "fixtures" / "project_shop"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    target = tmp_path / "project"
    shutil.copytree(FIXTURE, target)
    return target


def run(
    project: Path, *args: str, command: tuple[str, ...] = ("-m", "migration_lint")
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(
        [sys.executable, *command, *args],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def findings(result: subprocess.CompletedProcess[str]) -> list[dict[str, object]]:
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)["findings"]  # type: ignore[no-any-return]


def test_exact_table_and_constraint_names(project: Path) -> None:
    found = findings(run(project, "--no-cache", "--format", "json", "--select", "ML101"))
    by_path = {f["path"]: f for f in found}
    shop = by_path["shop/migrations/0002_alter_order_unique_together.py"]
    # db_table from the model's options, not the default shop_order.
    assert "shop_orders" in str(shop["message"])
    code = "\n".join(step["code"] for step in shop["fix"])  # type: ignore[union-attr]
    assert '"shop_orders_customer_ref_reference_' in code and "_uniq" in code
    invoices = by_path["billing/db_migrations/0002_alter_invoice_number.py"]
    # The app's label (invoices), not its package (billing), names the table.
    assert "invoices_invoice" in str(invoices["message"])
    assert invoices["app_label"] == "invoices"


def test_app_label_selects_apps(project: Path) -> None:
    found = findings(run(project, "invoices", "--no-cache", "--format", "json"))
    assert found and {f["app_label"] for f in found} == {"invoices"}


def test_unknown_app_label_lists_the_known_ones(project: Path) -> None:
    result = run(project, "nosuchapp")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert (
        "unknown app label 'nosuchapp'" in result.stderr
        and "invoices" in result.stderr
        and "shop" in result.stderr
    )


def test_settings_module_that_does_not_import(project: Path) -> None:
    result = run(project, "--settings", "nosuch.settings")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "nosuch.settings" in result.stderr and "No module named 'nosuch'" in result.stderr


def test_settings_module_that_raises(project: Path) -> None:
    (project / "shopproj" / "broken.py").write_text(
        "raise RuntimeError('no secrets in this environment')\n"
    )
    result = run(project, "--settings", "shopproj.broken")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "RuntimeError: no secrets in this environment" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_dependency_is_a_finding(project: Path) -> None:
    path = project / "shop" / "migrations" / "0003_note.py"
    path.write_text(
        "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n"
        '    dependencies = [("shop", "0002_gone")]\n    operations = []\n'
    )
    result = run(project, "--no-cache", "--format", "json", "--verbose")
    found = findings(result)
    assert any(f["code"] == "ML902" and "0002_gone" in str(f["message"]) for f in found)
    assert "Traceback" not in result.stderr


def test_circular_dependency_is_a_finding(project: Path) -> None:
    first = project / "shop" / "migrations" / "0001_initial.py"
    first.write_text(
        first.read_text().replace(
            "dependencies = []", 'dependencies = [("invoices", "0001_initial")]'
        )
    )
    found = findings(run(project, "--no-cache", "--format", "json"))
    cycles = [f for f in found if f["code"] == "ML902" and "circular" in str(f["message"])]
    assert cycles and "invoices.0001_initial" in str(cycles[0]["message"])


def test_squashed_migrations_are_handled(project: Path) -> None:
    squash = project / "shop" / "migrations" / "0001_squashed_0002_alter_order_unique_together.py"
    squash.write_text(
        (project / "shop" / "migrations" / "0001_initial.py")
        .read_text()
        .replace(
            "    initial = True\n",
            '    initial = True\n    replaces = [("shop", "0001_initial"), ("shop", "0002_alter_order_unique_together")]\n',
        )
        .replace(
            'options={"db_table": "shop_orders"}',
            'options={"db_table": "shop_orders", "unique_together": {("customer_ref", "reference")}}',
        )
    )
    found = findings(run(project, "shop", "--no-cache", "--format", "json"))
    # The squash creates its table: nothing to lock. The originals it replaces are not replayed twice.
    assert not [f for f in found if "squashed" in str(f["path"])]


def test_management_command(project: Path) -> None:
    result = run(
        project,
        "migration_lint",
        "invoices",
        "--format",
        "json",
        "--no-cache",
        command=("manage.py",),
    )
    assert result.returncode == 1, result.stderr
    assert {f["code"] for f in json.loads(result.stdout)["findings"]} >= {"ML101"}


def test_explicit_file_path_in_project_mode(project: Path) -> None:
    found = findings(
        run(
            project,
            "shop/migrations/0002_alter_order_unique_together.py",
            "--no-cache",
            "--format",
            "json",
        )
    )
    assert {f["path"] for f in found} == {"shop/migrations/0002_alter_order_unique_together.py"}


def test_zero_downtime_backend_is_not_reported_for_locks(project: Path) -> None:
    # django-pg-zero-downtime-migrations rewrites these statements into concurrent ones itself.
    settings = project / "shopproj" / "settings.py"
    settings.write_text(
        settings.read_text().replace(
            '"django.db.backends.postgresql"', '"django_zero_downtime_migrations.backends.postgres"'
        )
    )
    codes = {f["code"] for f in findings(run(project, "--no-cache", "--format", "json"))}
    assert "ML101" not in codes and "ML102" in codes


def test_mysql_renders_offline_models_with_foreign_keys(project: Path) -> None:
    # MySQL's editor asks the live table for its storage engine before indexing a field.
    result = run(
        project, "invoices", "--no-cache", "--explain", "--target", "mariadb", "--select", "ML9"
    )
    assert result.returncode == 0, result.stderr
    assert "CREATE TABLE `invoices_invoice`" in result.stdout
    assert "!!" not in result.stdout
