"""The command line, end to end: ``main(argv, stdout)`` in a throw-away tree, source only."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Sequence
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

CLEAN = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.AddField("order", "note", models.TextField(null=True))]
"""

# ML903 (a warning) on line 6: the noqa suppresses nothing.
UNUSED_NOQA = """\
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.AlterModelOptions("order", {"ordering": ["id"]})]  # noqa: ML902
"""

# ML902 (an error) on line 5: the dependency does not exist.
MISSING_DEPENDENCY = """\
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_gone")]
    operations = []
"""

# ML901 (an error) on line 5, where the bracket is never closed.
SYNTAX_ERROR = """\
from django.db import migrations


class Migration(migrations.Migration):
    operations = [
"""

M = "shop/migrations/"


def run(
    root: Path,
    files: Sequence[tuple[str, str | bytes]],
    *argv: str,
    base: Sequence[str] = BASE,
) -> tuple[int, str]:
    """Write ``files`` under ``root``, run the CLI there; exit code and stdout."""
    write_tree(root, files)
    out = io.StringIO()
    with chdir(root):
        code = main([*argv, *base], stdout=out)
    return code, out.getvalue()


def findings(output: str) -> list[str]:
    """``path:line CODE`` for every finding line of the text format."""
    found = []
    for line in output.splitlines():
        if line.startswith(" ") or ": ML" not in line:
            continue
        location, _, rest = line.partition(": ")
        path, row, _column = location.rsplit(":", 2)
        found.append(f"{path}:{row} {rest.split()[0]}")
    return found


def assert_one_error_line(capsys: pytest.CaptureFixture[str], *fragments: str) -> None:
    err = capsys.readouterr().err
    assert err.startswith("migration-lint: error: "), err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    for fragment in fragments:
        assert fragment in err, err


@pytest.fixture(autouse=True)
def _plain_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("NO_COLOR", "FORCE_COLOR", "DJANGO_SETTINGS_MODULE"):
        monkeypatch.delenv(name, raising=False)
    # git must not find a repository above the temporary folder.
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))


# --- exit codes ---------------------------------------------------------------------------------


def test_clean_tree_exits_0(tmp_path: Path) -> None:
    code, out = run(tmp_path, [(M + "0001_initial.py", INITIAL), (M + "0002_note.py", CLEAN)])
    assert code == 0
    assert findings(out) == []
    assert "All checks passed (2 files)." in out


def test_error_finding_exits_1(tmp_path: Path) -> None:
    code, out = run(tmp_path, [(M + "0001_initial.py", INITIAL), (M + "0002_bad.py", SYNTAX_ERROR)])
    assert code == 1
    assert findings(out) == [M + "0002_bad.py:5 ML901"]


@pytest.mark.parametrize(
    ("files", "argv", "exit_code"),
    (
        pytest.param([(M + "0001_initial.py", INITIAL)], ("--format", "json"), 0, id="clean"),
        pytest.param(
            [(M + "0001_initial.py", INITIAL), (M + "0002_missing.py", MISSING_DEPENDENCY)],
            ("--format", "json"),
            1,
            id="findings",
        ),
        pytest.param([], ("missing/",), 2, id="usage-error"),
    ),
)
def test_the_command_process_exits_with_the_code_and_all_its_output(
    tmp_path: Path, files: list[tuple[str, str]], argv: tuple[str, ...], exit_code: int
) -> None:
    # ``python -m migration_lint`` leaves through os._exit (cli.entry): its exit code and
    # everything it printed must still come out, as from main() in this process.
    expected_code, expected = run(tmp_path, files, *argv)
    command = [sys.executable, "-m", "migration_lint", *argv, *BASE]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout) == (expected_code, expected)
    assert done.returncode == exit_code
    assert (done.stderr.count("\n") == 1) == (exit_code == 2), done.stderr


def test_a_command_about_to_exit_keeps_what_the_run_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Freed when run_lint returned, it cost the command a fifth of a second on the benchmark
    # corpus, just before os._exit would have dropped it for nothing.
    from migration_lint import cli

    monkeypatch.setattr(cli, "_KEPT", [])
    write_tree(tmp_path, [(M + "0001_initial.py", INITIAL), (M + "0002_note.py", CLEAN)])
    with chdir(tmp_path):
        assert main([*BASE], stdout=io.StringIO(), exiting=True) == 0
        assert main([*BASE], stdout=io.StringIO()) == 0
    (kept,) = cli._KEPT
    assert kept.context is not None and len(kept.context.targets) == 2


@pytest.mark.parametrize(
    ("argv", "exit_code"),
    (
        pytest.param((), 0, id="default-fail-on-error"),
        pytest.param(("--fail-on", "error"), 0, id="fail-on-error"),
        pytest.param(("--fail-on", "warning"), 1, id="fail-on-warning"),
        pytest.param(("--fail-on", "info"), 1, id="fail-on-info"),
        pytest.param(("--severity", "ML903=info", "--fail-on", "warning"), 0, id="lowered-below"),
        pytest.param(("--severity", "ML903=error"), 1, id="raised-to-error"),
    ),
)
def test_fail_on_threshold_with_a_warning(
    tmp_path: Path, argv: tuple[str, ...], exit_code: int
) -> None:
    code, out = run(
        tmp_path, [(M + "0001_initial.py", INITIAL), (M + "0002_noqa.py", UNUSED_NOQA)], *argv
    )
    assert findings(out) == [M + "0002_noqa.py:6 ML903"]
    assert code == exit_code


# --- selection and severity ---------------------------------------------------------------------

TREE = [
    (M + "0001_initial.py", INITIAL),
    (M + "0002_noqa.py", UNUSED_NOQA),
    (M + "0003_missing.py", MISSING_DEPENDENCY),
    (M + "0004_broken.py", SYNTAX_ERROR),
]


@pytest.mark.parametrize(
    ("argv", "expected"),
    (
        pytest.param(
            (),
            [
                M + "0002_noqa.py:6 ML903",
                M + "0003_missing.py:5 ML902",
                M + "0004_broken.py:5 ML901",
            ],
            id="everything",
        ),
        pytest.param(
            ("--select", "ML9", "--ignore", "ML903"),
            [M + "0003_missing.py:5 ML902", M + "0004_broken.py:5 ML901"],
            id="select-prefix-ignore-code",
        ),
        pytest.param(("--select", "ML901"), [M + "0004_broken.py:5 ML901"], id="select-one"),
        pytest.param(
            ("--select", "ML901,ML902"),
            [M + "0003_missing.py:5 ML902", M + "0004_broken.py:5 ML901"],
            id="comma-separated",
        ),
        pytest.param(
            ("--select", "ml901", "--select", "ml902"),
            [M + "0003_missing.py:5 ML902", M + "0004_broken.py:5 ML901"],
            id="repeated-lowercase",
        ),
        pytest.param(("--ignore", "ML9"), [], id="ignore-all"),
    ),
)
def test_select_and_ignore(tmp_path: Path, argv: tuple[str, ...], expected: list[str]) -> None:
    _, out = run(tmp_path, TREE, *argv)
    assert findings(out) == expected


@pytest.mark.parametrize(
    ("argv", "severities", "exit_code"),
    (
        pytest.param((), {"ML901": "error", "ML902": "error"}, 1, id="defaults"),
        pytest.param(
            ("--severity", "ML901=warning"),
            {"ML901": "warning", "ML902": "error"},
            1,
            id="one-code",
        ),
        pytest.param(
            ("--severity", "ML9=warning"),
            {"ML901": "warning", "ML902": "warning"},
            0,
            id="prefix",
        ),
        pytest.param(
            ("--severity", "ML9=info", "--severity", "ML902=error"),
            {"ML901": "info", "ML902": "error"},
            1,
            id="longest-prefix-wins",
        ),
    ),
)
def test_severity_override(
    tmp_path: Path, argv: tuple[str, ...], severities: dict[str, str], exit_code: int
) -> None:
    code, out = run(
        tmp_path,
        [
            (M + "0001_initial.py", INITIAL),
            (M + "0002_missing.py", MISSING_DEPENDENCY),
            (M + "0003_bad.py", SYNTAX_ERROR),
        ],
        "--format",
        "json",
        *argv,
    )
    document = json.loads(out)
    assert {f["code"]: f["severity"] for f in document["findings"]} == severities
    assert code == exit_code


# --- formats ------------------------------------------------------------------------------------


def test_text_format(tmp_path: Path) -> None:
    _, out = run(
        tmp_path, [(M + "0001_initial.py", INITIAL), (M + "0002_missing.py", MISSING_DEPENDENCY)]
    )
    first = out.splitlines()[0]
    assert first == (
        "shop/migrations/0002_missing.py:5:1: ML902 "
        "shop.0002_missing depends on shop.0001_gone, which does not exist"
    )
    assert "  help: " in out
    assert out.endswith("Found 1 problem (1 error) in 2 files.\n")


def test_json_format(tmp_path: Path) -> None:
    code, out = run(
        tmp_path,
        [(M + "0001_initial.py", INITIAL), (M + "0002_missing.py", MISSING_DEPENDENCY)],
        "--format",
        "json",
    )
    assert code == 1
    document = json.loads(out)
    assert document["version"] == 1
    (finding,) = document["findings"]
    assert {
        k: finding[k]
        for k in ("code", "severity", "path", "line", "column", "app_label", "migration")
    } == {
        "code": "ML902",
        "severity": "error",
        "path": "shop/migrations/0002_missing.py",
        "line": 5,
        "column": 1,
        "app_label": "shop",
        "migration": "0002_missing",
    }
    assert finding["message"] and finding["help"]


def test_json_format_when_clean(tmp_path: Path) -> None:
    code, out = run(tmp_path, [(M + "0001_initial.py", INITIAL)], "--format", "json")
    assert code == 0
    assert json.loads(out) == {"version": 1, "findings": []}


def test_sarif_format(tmp_path: Path) -> None:
    _, out = run(
        tmp_path,
        [(M + "0001_initial.py", INITIAL), (M + "0002_missing.py", MISSING_DEPENDENCY)],
        "--format",
        "sarif",
    )
    document = json.loads(out)
    assert document["version"] == "2.1.0"
    (sarif_run,) = document["runs"]
    assert sarif_run["tool"]["driver"]["name"] == "migration-lint"
    (result,) = sarif_run["results"]
    assert result["ruleId"] == "ML902"
    assert result["level"] == "error"
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "shop/migrations/0002_missing.py"
    assert location["region"]["startLine"] == 5


def test_github_format(tmp_path: Path) -> None:
    _, out = run(
        tmp_path,
        [
            (M + "0001_initial.py", INITIAL),
            (M + "0002_missing.py", MISSING_DEPENDENCY),
            (M + "0003_noqa.py", UNUSED_NOQA.replace("0001_initial", "0002_missing")),
        ],
        "--format",
        "github",
    )
    lines = out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(
        "::error file=shop/migrations/0002_missing.py,line=5,col=1,endLine=5,"
        "title=ML902 (broken-migration-graph)::"
    )
    assert lines[1].startswith("::warning file=shop/migrations/0003_noqa.py,line=6,")


def test_format_from_pyproject(tmp_path: Path) -> None:
    code, out = run(
        tmp_path,
        [
            ("pyproject.toml", '[tool.migration_lint]\nformat = "json"\n'),
            (M + "0001_initial.py", INITIAL),
        ],
    )
    assert code == 0
    assert json.loads(out)["findings"] == []


# --- usage errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "fragments"),
    (
        pytest.param(
            ("shop/migrations/0009_nope.py",), ("0009_nope.py", "no such file"), id="missing-path"
        ),
        pytest.param(("--format", "xml"), ("--format", "xml"), id="unknown-format"),
        pytest.param(("--select", "XX1"), ("--select", "XX1"), id="bad-select"),
        pytest.param(("--ignore", "ML1x"), ("--ignore", "ML1x"), id="bad-ignore"),
        pytest.param(("--target", "oracle"), ("oracle",), id="unknown-target"),
        pytest.param(("--fail-on", "fatal"), ("--fail-on",), id="bad-fail-on"),
        pytest.param(("--severity", "ML901"), ("CODE=LEVEL",), id="severity-without-level"),
        pytest.param(("--severity", "ML901=loud"), ("loud",), id="unknown-severity"),
        pytest.param(("--color", "sometimes"), ("--color",), id="bad-color"),
        pytest.param(("--jobs", "0"), ("--jobs", "0"), id="no-jobs"),
        pytest.param(("--jobs", "two"), ("--jobs", "two"), id="jobs-not-a-number"),
        pytest.param(("--no-such-flag",), ("--no-such-flag",), id="unknown-flag"),
        pytest.param(("--since", "HEAD"), ("git repository",), id="since-outside-git"),
    ),
)
def test_usage_errors_exit_2_with_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: tuple[str, ...],
    fragments: tuple[str, ...],
) -> None:
    code, out = run(tmp_path, [(M + "0001_initial.py", INITIAL)], *argv)
    assert code == 2
    assert out == ""
    assert_one_error_line(capsys, *fragments)


@pytest.mark.parametrize(
    ("pyproject", "fragments"),
    (
        pytest.param(
            '[tool.migration_lint]\nselct = ["ML9"]\n', ("selct", "unknown key"), id="unknown-key"
        ),
        pytest.param(
            '[tool.migration_lint]\nselect = "ML9"\n', ("select", "wrong type"), id="wrong-type"
        ),
        pytest.param('[tool.migration_lint]\nselect = ["XX"]\n', ("XX",), id="bad-code"),
        pytest.param('[tool.migration_lint]\nfail-on = "loud"\n', ("fail-on",), id="bad-fail-on"),
        pytest.param('[tool.migration_lint]\nformat = "xml"\n', ("format", "xml"), id="bad-format"),
        pytest.param('[tool.migration_lint]\ntarget = ["oracle"]\n', ("oracle",), id="bad-target"),
        pytest.param(
            '[tool.migration_lint]\nseverity = {ML901 = "loud"}\n', ("loud",), id="bad-severity"
        ),
        pytest.param(
            "[tool.migration_lint\n", ("pyproject.toml", "cannot read"), id="invalid-toml"
        ),
        pytest.param("[tool]\nmigration_lint = 1\n", ("must be a table",), id="not-a-table"),
    ),
)
def test_bad_configuration_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], pyproject: str, fragments: tuple[str, ...]
) -> None:
    code, out = run(tmp_path, [("pyproject.toml", pyproject), (M + "0001_initial.py", INITIAL)])
    assert code == 2
    assert out == ""
    assert_one_error_line(capsys, *fragments)


def test_pyproject_tool_that_is_not_a_table_is_ignored(tmp_path: Path) -> None:
    code, _ = run(tmp_path, [("pyproject.toml", 'tool = "x"\n'), (M + "0001_initial.py", INITIAL)])
    assert code == 0


# --- rule pages ---------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ("ML901", "ml901"))
def test_rule_page(capsys: pytest.CaptureFixture[str], code: str) -> None:
    out = io.StringIO()
    assert main(["rule", code], stdout=out) == 0
    page = out.getvalue()
    assert page.startswith("# ML901")
    assert "unreadable-migration" in page
    assert "## What it does" in page
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("argv", "fragment"),
    (
        pytest.param(["rule", "ML999"], "ML999", id="unknown-rule"),
        pytest.param(["rule"], "usage", id="no-code"),
        pytest.param(["rule", "ML901", "ML902"], "usage", id="two-codes"),
    ),
)
def test_rule_page_errors(
    capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str
) -> None:
    out = io.StringIO()
    assert main(argv, stdout=out) == 2
    assert out.getvalue() == ""
    assert_one_error_line(capsys, fragment)


# --- files that cannot be read ------------------------------------------------------------------


def test_syntax_error_is_a_finding_and_other_files_are_still_linted(tmp_path: Path) -> None:
    code, out = run(
        tmp_path,
        [
            (M + "0001_initial.py", INITIAL),
            (M + "0002_broken.py", SYNTAX_ERROR),
            (M + "0003_noqa.py", UNUSED_NOQA),
        ],
    )
    assert code == 1
    assert findings(out) == [M + "0002_broken.py:5 ML901", M + "0003_noqa.py:6 ML903"]


def test_file_that_is_not_utf8_is_a_finding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    latin1 = INITIAL.replace('"Order"', '"Commande"  # référence').encode("latin-1")
    code, out = run(tmp_path, [(M + "0001_initial.py", latin1), (M + "0002_noqa.py", UNUSED_NOQA)])
    assert code == 1
    assert findings(out) == [M + "0001_initial.py:7 ML901", M + "0002_noqa.py:6 ML903"]
    assert "UTF-8" in out
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("size", [0, 1, 3000, (1 << 20) + 5, 3 << 20])
def test_files_are_read_whole(tmp_path: Path, size: int) -> None:
    from migration_lint.lint import read_bytes

    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    (tmp_path / "file").write_bytes(data)
    assert read_bytes(tmp_path / "file") == data


def test_a_folder_or_a_missing_file_cannot_be_read(tmp_path: Path) -> None:
    from migration_lint.lint import read_bytes

    for path in (tmp_path, tmp_path / "missing.py"):
        with pytest.raises(OSError):
            read_bytes(path)


def test_file_with_a_null_byte_is_a_finding(tmp_path: Path) -> None:
    code, out = run(tmp_path, [(M + "0001_initial.py", INITIAL.encode() + b"\x00\n")])
    assert code == 1
    assert findings(out) == [M + "0001_initial.py:9 ML901"]


@pytest.mark.parametrize(
    "files",
    (
        pytest.param([(M + "0002_empty.py", "")], id="empty-file"),
        pytest.param([(M + "utils.py", "def helper():\n    return 1\n")], id="helper-module"),
        pytest.param(
            [(M + "0002_empty.py", ""), (M + "utils.py", "X = 1  # noqa: ML101\n")], id="both"
        ),
        pytest.param([("shop/README.md", "# noqa: ML101\n")], id="not-python"),
    ),
)
def test_files_that_are_not_migrations_are_ignored_quietly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], files: list[tuple[str, str]]
) -> None:
    code, out = run(
        tmp_path, [(M + "0001_initial.py", INITIAL), *files], *(path for path, _ in files)
    )
    assert code == 0
    assert findings(out) == []
    assert "All checks passed (0 files)." in out
    assert capsys.readouterr().err == ""


def test_linting_a_whole_tree_skips_non_migrations(tmp_path: Path) -> None:
    code, out = run(
        tmp_path,
        [(M + "0001_initial.py", INITIAL), (M + "0002_empty.py", ""), (M + "utils.py", "X = 1\n")],
    )
    assert code == 0
    assert "All checks passed (1 file)." in out


# --- --since ------------------------------------------------------------------------------------


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        [
            "git",
            "-c",
            "user.email=lint@example.com",
            "-c",
            "user.name=Lint",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
            *args,
        ],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    """A git repository with one commit: 0001 and 0002 (which has an unused noqa)."""
    write_tree(tmp_path, [(M + "0001_initial.py", INITIAL), (M + "0002_noqa.py", UNUSED_NOQA)])
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "initial")
    return tmp_path


def test_since_lints_only_changed_and_untracked_files(repository: Path) -> None:
    modified = CLEAN.replace(
        "models.TextField(null=True))]", "models.TextField(null=True))]  # noqa: ML902"
    )
    files = [
        (
            M + "0001_initial.py",
            modified.replace('dependencies = [("shop", "0001_initial")]', "initial = True"),
        ),
        (M + "0003_new.py", UNUSED_NOQA.replace("0001_initial", "0002_noqa")),
    ]
    # Only the ML9 rules: editing 0001_initial, which exists at HEAD, is an ML2xx finding too.
    code, out = run(repository, files, "--since", "HEAD", "--select", "ML9")
    assert code == 0
    # 0002_noqa.py has the same problem but did not change since HEAD.
    assert findings(out) == [M + "0001_initial.py:6 ML903", M + "0003_new.py:6 ML903"]
    assert "in 2 files" in out


def test_since_counts_staged_files(repository: Path) -> None:
    write_tree(repository, [(M + "0003_new.py", MISSING_DEPENDENCY)])
    git(repository, "add", M + "0003_new.py")
    code, out = run(repository, [], "--since", "HEAD")
    assert code == 1
    assert findings(out) == [M + "0003_new.py:5 ML902"]


def test_since_without_changes(repository: Path) -> None:
    code, out = run(repository, [], "--since", "HEAD")
    assert code == 0
    assert "All checks passed (0 files)." in out


def test_since_an_older_commit(repository: Path) -> None:
    first = git(repository, "rev-parse", "HEAD").strip()
    write_tree(repository, [(M + "0003_new.py", MISSING_DEPENDENCY)])
    git(repository, "add", "-A")
    git(repository, "commit", "-q", "-m", "second")
    _, out = run(repository, [], "--since", first)
    assert findings(out) == [M + "0003_new.py:5 ML902"]
    _, out = run(repository, [], "--since", "HEAD")
    assert findings(out) == []


def test_since_with_an_unknown_ref(repository: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(repository, [], "--since", "no-such-branch")
    assert code == 2
    assert out == ""
    assert_one_error_line(capsys, "no-such-branch")


def test_since_with_an_option_for_a_ref(
    repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(repository, [], "--since=--output=diff.txt")
    assert code == 2
    assert out == ""
    assert_one_error_line(capsys, "--output=diff.txt")
    assert not (repository / "diff.txt").exists()


def test_since_from_pyproject_and_overridden(repository: Path) -> None:
    first = git(repository, "rev-parse", "HEAD").strip()
    write_tree(
        repository,
        [
            ("pyproject.toml", '[tool.migration_lint]\nbase = "HEAD"\n'),
            (M + "0003_new.py", MISSING_DEPENDENCY),
        ],
    )
    git(repository, "add", "-A")
    git(repository, "commit", "-q", "-m", "second")
    code, out = run(repository, [])
    assert (code, findings(out)) == (0, [])  # nothing changed since HEAD
    code, out = run(repository, [], "--since", first)
    assert (code, findings(out)) == (1, [M + "0003_new.py:5 ML902"])


# --- color --------------------------------------------------------------------------------------

ESCAPE = "\x1b["


@pytest.mark.parametrize(
    ("environment", "argv", "colored"),
    (
        pytest.param({}, ("--color", "never"), False, id="never"),
        pytest.param({}, ("--color", "always"), True, id="always"),
        pytest.param({}, (), False, id="auto-not-a-terminal"),
        pytest.param({"NO_COLOR": "1"}, (), False, id="no-color"),
        pytest.param({"FORCE_COLOR": "1"}, (), True, id="force-color"),
        pytest.param({"NO_COLOR": "1"}, ("--color", "always"), True, id="flag-beats-no-color"),
        pytest.param(
            {"FORCE_COLOR": "1"}, ("--color", "never"), False, id="flag-beats-force-color"
        ),
        pytest.param({}, ("--color", "always", "--format", "json"), False, id="json-never-colored"),
    ),
)
def test_color(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    environment: dict[str, str],
    argv: tuple[str, ...],
    colored: bool,
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    _, out = run(
        tmp_path,
        [(M + "0001_initial.py", INITIAL), (M + "0002_missing.py", MISSING_DEPENDENCY)],
        *argv,
    )
    assert (ESCAPE in out) is colored


# --- pyproject.toml -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "argv", "expected", "exit_code"),
    (
        pytest.param(
            'select = ["ML902", "ML903"]',
            (),
            [M + "0002_noqa.py:6 ML903", M + "0003_missing.py:5 ML902"],
            1,
            id="select",
        ),
        pytest.param(
            'select = ["ML902", "ML903"]',
            ("--select", "ML901"),
            [M + "0004_broken.py:5 ML901"],
            1,
            id="select-overridden",
        ),
        pytest.param(
            'ignore = ["ML901"]',
            (),
            [M + "0002_noqa.py:6 ML903", M + "0003_missing.py:5 ML902"],
            1,
            id="ignore",
        ),
        pytest.param(
            'ignore = ["ML901"]',
            ("--ignore", "ML903"),
            [M + "0003_missing.py:5 ML902", M + "0004_broken.py:5 ML901"],
            1,
            id="ignore-overridden",
        ),
        pytest.param(
            'exclude = ["shop.0003_missing", "shop.0004_*"]\nfail-on = "warning"',
            (),
            [M + "0002_noqa.py:6 ML903"],
            1,
            id="fail-on",
        ),
        pytest.param(
            'exclude = ["shop.0003_missing", "shop.0004_*"]\nfail-on = "warning"',
            ("--fail-on", "error"),
            [M + "0002_noqa.py:6 ML903"],
            0,
            id="fail-on-overridden",
        ),
        pytest.param(
            'select = ["ML901"]\nseverity = { ML901 = "warning" }',
            (),
            [M + "0004_broken.py:5 ML901"],
            0,
            id="severity",
        ),
        pytest.param(
            'select = ["ML901"]\nseverity = { ML901 = "warning" }',
            ("--severity", "ML901=error"),
            [M + "0004_broken.py:5 ML901"],
            1,
            id="severity-overridden",
        ),
        pytest.param(
            'exclude = ["shop.0004_*", "shop.0003_missing"]',
            (),
            [M + "0002_noqa.py:6 ML903"],
            0,
            id="exclude",
        ),
    ),
)
def test_pyproject_configuration(
    tmp_path: Path, config: str, argv: tuple[str, ...], expected: list[str], exit_code: int
) -> None:
    code, out = run(
        tmp_path, [("pyproject.toml", f"[tool.migration_lint]\n{config}\n"), *TREE], *argv
    )
    assert findings(out) == expected
    assert code == exit_code


def test_pyproject_is_found_from_a_subfolder(tmp_path: Path) -> None:
    write_tree(tmp_path, [("pyproject.toml", '[tool.migration_lint]\nignore = ["ML902"]\n'), *TREE])
    out = io.StringIO()
    with chdir(tmp_path / "shop"):
        code = main(["migrations", *BASE], stdout=out)
    assert code == 1
    # Paths are shown relative to the working directory; the ignored ML902 is gone, and with
    # it the ML903 for the "noqa: ML902" that can no longer be judged.
    assert findings(out.getvalue()) == ["migrations/0004_broken.py:5 ML901"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("0001_initial.py", True),
        ("_private.py", False),
        ("~0002_x.py", False),
        (".py", False),
        ("0003_x.pyc", False),
        ("README.md", False),
        ("..py", True),
    ],
)
def test_migration_file_names(name: str, expected: bool) -> None:
    from migration_lint.discover import is_migration_name

    # Django's loader and pathlib's suffix agree on these.
    assert is_migration_name(name) is expected
    assert (Path(name).suffix == ".py" and not name.startswith(("_", "~"))) is expected


@pytest.mark.parametrize(
    ("path", "cwd", "shown"),
    [
        ("/p/shop/migrations/0001_x.py", "/p", "shop/migrations/0001_x.py"),
        ("/p/shop/0001_x.py", "/", "p/shop/0001_x.py"),
        ("/pq/shop/0001_x.py", "/p", "/pq/shop/0001_x.py"),
        ("/p", "/p", "."),
    ],
)
def test_display_path_is_relative_to_the_working_folder(path: str, cwd: str, shown: str) -> None:
    from migration_lint.lint import display_path

    assert display_path(Path(path), Path(cwd)) == shown


@pytest.mark.parametrize(
    ("path", "folder", "inside"),
    [
        ("/src/shop/migrations/0001_a.py", "/src", True),
        ("/src/shop/migrations/0001_a.py", "/src/shop/migrations", True),
        ("/src/shop/migrations/0001_a.py", "/", True),
        ("/src/shop/migrations/0001_a.py", "/src/sh", False),  # a prefix, not a folder
        ("/src/shop/migrations/0001_a.py", "/src/shop/migrations/0001_a.py", False),
        ("/src/shop/migrations/0001_a.py", "/other", False),
    ],
)
def test_a_folder_selects_the_files_below_it(path: str, folder: str, inside: bool) -> None:
    from migration_lint.discover import _inside

    assert _inside(Path(path), Path(folder)) is inside
    assert (Path(folder) in Path(path).parents) is inside
