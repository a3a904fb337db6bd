"""``# noqa`` comments: which findings they suppress, and when one is reported as unused (ML903)."""

from __future__ import annotations

from pathlib import Path

import pytest

from migration_lint.facts import MigrationFacts
from migration_lint.findings import Finding, Severity
from migration_lint.source.parse import parse_migration
from migration_lint.suppress import apply, matches
from tests.helpers import codes, lint_files

PATH = "shop/migrations/0002_change.py"

# Lines 6-12 are one operation; line 13 is the next one.
MULTI_LINE = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    operations = [
        migrations.AddField({0}
            model_name="order",{1}
            name="note",{2}
            field=models.TextField(
                null=True,{3}
            ),
        ),{4}
        migrations.DeleteModel("Coupon"),{5}
    ]
"""


def facts_with(source: str) -> MigrationFacts:
    facts = parse_migration(PATH, source.encode(), "shop")
    assert facts.parse_error is None
    return facts


def multi_line(comment: str, slot: int) -> MigrationFacts:
    slots = [""] * 6
    slots[slot] = "  " + comment
    return facts_with(MULTI_LINE.format(*slots))


def finding(code: str, line: int) -> Finding:
    return Finding(code, Severity.ERROR, PATH, line, 9, "message", "help")


def lint(
    facts: MigrationFacts,
    *found: Finding,
    selected: tuple[str, ...] = ("ML",),
    ignored: tuple[str, ...] = (),
) -> list[tuple[str, int]]:
    return [(f.code, f.line) for f in apply(found, {PATH: facts}, selected, ignored)]


# --- matching -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "prefixes", "expected"),
    (
        pytest.param("ML901", ("ML901",), True, id="exact"),
        pytest.param("ML901", ("ML9",), True, id="prefix"),
        pytest.param("ML901", ("ML",), True, id="family"),
        pytest.param("ML901", ("ML1", "ML90"), True, id="any-of"),
        pytest.param("ML901", ("ML1",), False, id="other-prefix"),
        pytest.param("ML901", ("ML9011",), False, id="longer-than-the-code"),
        pytest.param("ML901", (), False, id="none"),
    ),
)
def test_matches(code: str, prefixes: tuple[str, ...], expected: bool) -> None:
    assert matches(code, prefixes) is expected


# --- which findings a comment suppresses --------------------------------------------------------


@pytest.mark.parametrize(
    ("slot", "line"),
    (
        pytest.param(0, 6, id="first-line"),
        pytest.param(1, 7, id="second-line"),
        pytest.param(2, 8, id="middle-line"),
        pytest.param(3, 10, id="inside-the-field-call"),
        pytest.param(4, 12, id="closing-line"),
    ),
)
def test_noqa_on_any_line_of_a_multi_line_operation(slot: int, line: int) -> None:
    facts = multi_line("# noqa: ML902", slot)
    assert [s.line for s in facts.suppressions] == [line]
    # The finding is reported on the operation's first line; the comment may be on any of them.
    assert lint(facts, finding("ML902", 6)) == []


def test_finding_inside_a_multi_line_operation_is_suppressed_from_its_first_line() -> None:
    facts = multi_line("# noqa: ML902", 0)
    assert lint(facts, finding("ML902", 10)) == []


def test_noqa_on_another_operation_does_not_suppress() -> None:
    facts = multi_line("# noqa: ML902", 5)
    assert lint(facts, finding("ML902", 6)) == [("ML902", 6), ("ML903", 13)]


def test_noqa_outside_any_operation_only_covers_its_own_line() -> None:
    facts = facts_with(
        "from django.db import migrations\n"
        "\n"
        "\n"
        "class Migration(migrations.Migration):\n"
        "    dependencies = [\n"
        '        ("shop", "0001_gone"),  # noqa: ML902\n'
        '        ("shop", "0000_gone"),\n'
        "    ]\n"
    )
    assert lint(facts, finding("ML902", 6), finding("ML902", 7)) == [("ML902", 7)]


@pytest.mark.parametrize(
    ("comment", "code", "suppressed"),
    (
        pytest.param("# noqa: ML902", "ML902", True, id="exact"),
        pytest.param("# noqa: ML9", "ML902", True, id="prefix-ML9"),
        pytest.param("# noqa: ML90", "ML901", True, id="prefix-ML90"),
        pytest.param("# noqa: ML", "ML902", True, id="every-ML-code"),
        pytest.param("# noqa: ml902", "ML902", True, id="lowercase"),
        pytest.param("# noqa: ML101, ML902", "ML902", True, id="second-code"),
        pytest.param("# noqa: ML901", "ML902", False, id="other-code"),
        pytest.param("# noqa: ML1", "ML902", False, id="other-prefix"),
        pytest.param("# noqa: ML9021", "ML902", False, id="longer-code"),
        pytest.param("# noqa", "ML902", True, id="bare"),
        pytest.param("# noqa: E501", "ML902", False, id="other-tool"),
    ),
)
def test_codes_and_prefixes(comment: str, code: str, suppressed: bool) -> None:
    facts = multi_line(comment, 0)
    result = [c for c, _ in lint(facts, finding(code, 6)) if c == code]
    assert (result == []) is suppressed


# --- unused suppressions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("comment", "unused"),
    (
        pytest.param("# noqa: ML902", ["ML902"], id="one-code"),
        pytest.param("# noqa: ML101, ML902", ["ML101", "ML902"], id="two-codes"),
        pytest.param("# noqa: ML9", ["ML9"], id="prefix"),
        pytest.param("# noqa", [], id="bare-never-reported"),
        pytest.param("# noqa: E501", [], id="other-tool-never-reported"),
        pytest.param("# noqa: E501, W291", [], id="other-tools"),
        pytest.param("# noqa: E501, ML101", ["ML101"], id="mixed"),
        pytest.param("# noqa: ML101, ML903", [], id="unused-report-suppressed"),
        pytest.param("# noqa: ML101, ML9", [], id="unused-report-suppressed-by-prefix"),
        pytest.param("# noqa: ML903", ["ML903"], id="ml903-alone-is-unused"),
    ),
)
def test_unused_codes_are_reported(comment: str, unused: list[str]) -> None:
    facts = multi_line(comment, 2)
    result = apply([], {PATH: facts}, ("ML",), ())
    assert [f.code for f in result] == ["ML903"] * len(unused)
    assert [f.message for f in result] == [
        f"`# noqa: {code}` suppresses nothing on this line" for code in unused
    ]
    for f in result:
        assert (f.line, f.column) == (8, 27)
        assert f.severity is Severity.WARNING
        assert (f.path, f.app_label, f.migration) == (PATH, "shop", "0002_change")
        assert f.help


def test_used_code_is_not_reported_but_its_neighbour_is() -> None:
    facts = multi_line("# noqa: ML902, ML101", 1)
    result = apply([finding("ML902", 6)], {PATH: facts}, ("ML",), ())
    assert [(f.code, f.line, f.message) for f in result] == [
        ("ML903", 7, "`# noqa: ML101` suppresses nothing on this line")
    ]


def test_bare_noqa_suppresses_everything_and_is_never_unused() -> None:
    facts = multi_line("# noqa", 3)
    assert lint(facts, finding("ML902", 6), finding("ML101", 6), finding("ML501", 10)) == []
    assert lint(facts) == []


@pytest.mark.parametrize(
    ("selected", "ignored"),
    (
        pytest.param(("ML9",), (), id="not-selected"),
        pytest.param(("ML901", "ML903"), (), id="other-code-selected"),
        pytest.param(("ML",), ("ML1",), id="ignored-by-prefix"),
        pytest.param(("ML",), ("ML101",), id="ignored-exactly"),
    ),
)
def test_noqa_for_a_rule_that_did_not_run_is_not_unused(
    selected: tuple[str, ...], ignored: tuple[str, ...]
) -> None:
    facts = multi_line("# noqa: ML101", 0)
    assert lint(facts, selected=selected, ignored=ignored) == []


@pytest.mark.parametrize(
    ("selected", "ignored"),
    (
        pytest.param(("ML1", "ML2"), (), id="ml903-not-selected"),
        pytest.param(("ML",), ("ML903",), id="ml903-ignored"),
        pytest.param(("ML",), ("ML9",), id="ml9-ignored"),
    ),
)
def test_no_unused_reports_when_ml903_does_not_run(
    selected: tuple[str, ...], ignored: tuple[str, ...]
) -> None:
    facts = multi_line("# noqa: ML101", 0)
    assert lint(facts, selected=selected, ignored=ignored) == []


def test_findings_of_other_files_are_kept() -> None:
    facts = multi_line("# noqa", 0)
    other = Finding("ML902", Severity.ERROR, "billing/migrations/0001_initial.py", 6, 1, "m")
    assert apply([other], {PATH: facts}, ("ML",), ()) == [other]


# --- end to end, with the findings of real rules -------------------------------------------------

INITIAL = """\
from django.db import migrations


class Migration(migrations.Migration):
    initial = True
    operations = []
"""

MISSING = """\
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("shop", "0001_initial"),
        ("shop", "0001_gone"),{0}
    ]
    operations = [
        migrations.DeleteModel(
            "Coupon",
        ),{1}
    ]
"""


def lint_missing(
    root: Path, at_dependency: str = "", at_operation: str = "", **options: object
) -> list[tuple[str, int]]:
    source = MISSING.format(
        f"  {at_dependency}" if at_dependency else "", f"  {at_operation}" if at_operation else ""
    )
    found = lint_files(
        root,
        [("shop/migrations/0001_initial.py", INITIAL), ("shop/migrations/0002_change.py", source)],
        **options,
    )
    return [(f.code, f.line) for f in found]


def test_missing_dependency_is_reported_without_noqa(tmp_path: Path) -> None:
    assert lint_missing(tmp_path) == [("ML902", 7)]


@pytest.mark.parametrize(
    "comment",
    (
        pytest.param("# noqa: ML902", id="exact"),
        pytest.param("# noqa: ML9", id="prefix"),
        pytest.param("# noqa:ml902", id="lowercase"),
        pytest.param("# noqa", id="bare"),
        pytest.param("# noqa: E501, ML902", id="with-another-tool"),
    ),
)
def test_missing_dependency_suppressed(tmp_path: Path, comment: str) -> None:
    assert lint_missing(tmp_path, at_dependency=comment) == []


def test_wrong_code_does_not_suppress_and_is_unused(tmp_path: Path) -> None:
    assert lint_missing(tmp_path, at_dependency="# noqa: ML901") == [("ML902", 7), ("ML903", 7)]


def test_noqa_on_an_operation_does_not_reach_the_dependency(tmp_path: Path) -> None:
    assert lint_missing(tmp_path, at_operation="# noqa: ML902") == [("ML902", 7), ("ML903", 12)]


def test_unused_noqa_on_a_multi_line_operation(tmp_path: Path) -> None:
    found = lint_missing(tmp_path, at_dependency="# noqa: ML902", at_operation="# noqa: ML9")
    assert found == [("ML903", 12)]


def test_deselected_rule_is_not_judged(tmp_path: Path) -> None:
    # ML902 does not run, so its noqa cannot be judged unused; ML903 itself runs.
    found = lint_missing(tmp_path, at_dependency="# noqa: ML902", select=("ML901", "ML903"))
    assert found == []


def test_ignored_rule_is_not_judged(tmp_path: Path) -> None:
    found = lint_missing(tmp_path, at_dependency="# noqa: ML902", ignore=("ML902",))
    assert found == []


def test_unused_report_can_be_ignored(tmp_path: Path) -> None:
    found = lint_missing(tmp_path, at_operation="# noqa: ML902", ignore=("ML903",))
    assert found == [("ML902", 7)]


def test_ml903_of_a_stale_prefix(tmp_path: Path) -> None:
    found = lint_files(
        tmp_path,
        [
            ("shop/migrations/0001_initial.py", INITIAL),
            (
                "shop/migrations/0002_change.py",
                "from django.db import migrations\n"
                "\n"
                "\n"
                "class Migration(migrations.Migration):\n"
                '    dependencies = [("shop", "0001_initial")]\n'
                "    operations = [\n"
                '        migrations.DeleteModel("Coupon"),  # noqa: ML9\n'
                "    ]\n",
            ),
        ],
    )
    assert codes(found) == ["ML903"]
    assert (found[0].line, found[0].column) == (7, 44)
    assert found[0].message == "`# noqa: ML9` suppresses nothing on this line"
