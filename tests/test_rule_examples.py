"""Every rule's flagged and accepted examples, as tests (``ML901-flagged-1`` ...)."""

from __future__ import annotations

from pathlib import Path

import pytest

from migration_lint.docs import pages, with_readme_table
from migration_lint.rules.base import Example, Rule, registry
from tests.helpers import lint_example

RULES = registry()
ROOT = Path(__file__).resolve().parents[1]


def _cases(kind: str) -> list[object]:
    return [
        pytest.param(rule, example, id=f"{code}-{kind}-{n}")
        for code, rule in RULES.items()
        for n, example in enumerate(getattr(rule, kind), start=1)
    ]


@pytest.mark.parametrize(("rule", "example"), _cases("flagged"))
def test_flagged(tmp_path: Path, rule: type[Rule], example: Example) -> None:
    findings = [f for f in lint_example(tmp_path, example) if f.code == rule.code]
    assert findings, f"{rule.code} did not flag its example"
    if example.line is not None:
        assert example.line in [f.line for f in findings]
    for finding in findings:
        assert finding.message and finding.help


@pytest.mark.parametrize(("rule", "example"), _cases("accepted"))
def test_accepted(tmp_path: Path, rule: type[Rule], example: Example) -> None:
    findings = lint_example(tmp_path, example)
    assert [f for f in findings if f.code == rule.code] == []


@pytest.mark.parametrize("code", list(RULES))
def test_rule_has_enough_examples(code: str) -> None:
    rule = RULES[code]
    assert len(rule.flagged) >= 2
    assert len(rule.accepted) >= max(2, len(rule.flagged))
    assert "## What it does" in rule.body() and "## Why is this bad?" in rule.body()


@pytest.mark.parametrize("name", sorted(pages()))
def test_rule_page_is_fresh(name: str) -> None:
    page = ROOT / "rules" / name
    assert page.exists(), f"rules/{name} is missing: run python -m migration_lint.docs"
    assert page.read_text(encoding="utf-8") == pages()[name], (
        f"rules/{name} is stale: run python -m migration_lint.docs"
    )


def test_no_orphan_pages() -> None:
    assert sorted(p.name for p in (ROOT / "rules").glob("ML*.md")) == sorted(pages())


def test_readme_rules_table_is_fresh() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert with_readme_table(readme) == readme, (
        "README's rules table is stale: run python -m migration_lint.docs"
    )
