"""``--write-baseline`` / ``--baseline``: accept the findings a project has, report new ones."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from migration_lint.cli import main
from tests.helpers import chdir, write_tree

BASE = ("--source-only", "--no-cache")

INITIAL = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    operations = [
        migrations.CreateModel("Order", [("id", models.AutoField(primary_key=True))]),
    ]
"""


def missing(name: str) -> str:
    """A migration with one ML902 error: it depends on ``name``, which does not exist."""
    return f"""\
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("shop", "{name}")]
    operations = []
"""


M = "shop/migrations/"


def lint(root: Path, *argv: str) -> tuple[int, list[str]]:
    out = io.StringIO()
    with chdir(root):
        code = main([*argv, *BASE, "--format", "json"], stdout=out)
    document = json.loads(out.getvalue()) if out.getvalue() else {"findings": []}
    return code, [f"{f['path']} {f['code']}" for f in document["findings"]]


@pytest.fixture(autouse=True)
def _plain_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))


@pytest.fixture
def project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    write_tree(
        tmp_path, [(M + "0001_initial.py", INITIAL), (M + "0002_old.py", missing("0001_gone"))]
    )
    assert lint(tmp_path)[0] == 1
    with chdir(tmp_path):
        assert main(["--write-baseline", "baseline.json", *BASE], stdout=io.StringIO()) == 0
    assert "wrote 1 findings to baseline.json" in capsys.readouterr().err
    return tmp_path


def test_the_written_baseline_holds_code_path_and_message(project: Path) -> None:
    document = json.loads((project / "baseline.json").read_text())
    assert document["tool"] == "migration-lint" and document["version"] == 1
    (entry,) = document["findings"]
    assert entry["code"] == "ML902" and entry["path"] == M + "0002_old.py"
    assert "0001_gone" in entry["message"] and entry["count"] == 1


def test_accepted_findings_stay_quiet_even_when_lines_move(project: Path) -> None:
    assert lint(project, "--baseline", "baseline.json") == (0, [])
    old = project / M / "0002_old.py"
    old.write_text("# a comment\n# and another\n" + old.read_text())
    assert lint(project, "--baseline", "baseline.json") == (0, [])


def test_a_new_finding_is_reported(project: Path) -> None:
    write_tree(project, [(M + "0003_new.py", missing("0002_gone"))])
    assert lint(project, "--baseline", "baseline.json") == (1, [M + "0003_new.py ML902"])
    # The same problem with other names in the accepted file is new too.
    old = project / M / "0002_old.py"
    old.write_text(old.read_text().replace("0001_gone", "0001_elsewhere"))
    code, found = lint(project, "--baseline", "baseline.json")
    assert code == 1 and M + "0002_old.py ML902" in found


def test_a_second_copy_of_an_accepted_finding_is_reported(project: Path) -> None:
    old = project / M / "0002_old.py"
    old.write_text(
        old.read_text().replace(
            '[("shop", "0001_gone")]', '[("shop", "0001_gone"), ("shop", "0001_gone")]'
        )
    )
    baseline = json.loads((project / "baseline.json").read_text())
    _, found = lint(project)
    assert found.count(M + "0002_old.py ML902") == 2, found
    assert baseline["findings"][0]["count"] == 1
    assert lint(project, "--baseline", "baseline.json") == (1, [M + "0002_old.py ML902"])


def test_paths_are_relative_to_the_baseline_not_the_working_directory(project: Path) -> None:
    code, found = lint(project / "shop", "--baseline", "../baseline.json")
    assert (code, found) == (0, [])


def test_baseline_from_pyproject_is_relative_to_it(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.migration_lint]\nbaseline = "baseline.json"\n')
    assert lint(project / "shop") == (0, [])


def test_entries_that_match_nothing_are_noted(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / M / "0002_old.py").write_text(missing("0001_initial"))
    assert lint(project, "--baseline", "baseline.json", "--verbose") == (0, [])
    err = capsys.readouterr().err
    assert "1 baseline entries in baseline.json match nothing any more" in err


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "no such file (create it with --write-baseline"),
        ("{", "cannot read"),
        ('{"findings": []}', "not a migration-lint baseline file"),
        ('{"tool": "migration-lint", "version": 9, "findings": []}', "version 9 is not 1"),
        (
            '{"tool": "migration-lint", "version": 1, "findings": [{"code": "ML101"}]}',
            "malformed entry",
        ),
    ],
)
def test_a_bad_baseline_is_one_line_and_exit_2(
    project: Path, capsys: pytest.CaptureFixture[str], content: str | None, fragment: str
) -> None:
    target = project / "other.json"
    if content is not None:
        target.write_text(content)
    with chdir(project):
        assert main(["--baseline", "other.json", *BASE], stdout=io.StringIO()) == 2
    err = capsys.readouterr().err
    assert err.startswith("migration-lint: error: baseline other.json: "), err
    assert err.count("\n") == 1 and fragment in err, err
