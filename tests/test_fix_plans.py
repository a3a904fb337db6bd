"""The fix plans pass the linter themselves: paste a plan's migrations in place of the flagged
one and no rule of its family reports them (PostgreSQL proofs: tests/test_unique_plan_postgres.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from migration_lint.docs import example_files
from migration_lint.rules.base import Example, registry
from tests.helpers import lint_example, lint_files

PLANNED = ("ML101", "ML102", "ML103", "ML105", "ML106")


def _cases() -> list[object]:
    return [
        pytest.param(code, example, id=f"{code}-flagged-{n}")
        for code in PLANNED
        for n, example in enumerate(registry()[code].flagged, start=1)
    ]


@pytest.mark.parametrize(("code", "example"), _cases())
def test_plan_is_clean(tmp_path: Path, code: str, example: Example) -> None:
    findings = [f for f in lint_example(tmp_path / "flagged", example) if f.code == code]
    assert findings
    files = example_files(example)
    flagged_path, _ = files[-1]
    folder = flagged_path.rpartition("/")[0]
    number = int(flagged_path.rpartition("/")[2][:4])
    migrations = [step.code for step in findings[0].fix if "class Migration" in step.code]
    assert migrations, "the plan has no migration to paste"
    written = []
    for offset, code_text in enumerate(migrations):
        name = f"{number + offset:04d}_plan_{offset}"
        # The plan's own migrations depend on each other by the names it gave them.
        for step in findings[0].fix:
            if step.path:
                code_text = code_text.replace(
                    step.path.rpartition("/")[2].removesuffix(".py"), f"{number:04d}_plan_0"
                )
        written.append((f"{folder}/{name}.py", code_text))
    tree = [*files[:-1], *written]
    result = lint_files(tmp_path / "planned", tree, *(path for path, _ in written))
    family = [f for f in result if f.code.startswith("ML1") or f.code == "ML9"]
    assert family == [], "\n".join(f"{f.path}:{f.line} {f.code} {f.message}" for f in family)


@pytest.mark.parametrize(
    "parts",
    [
        ("Order", "total-net"),
        ("add_order_note",),
        ("add", "Order", "note"),
        ("fill", "__x__", "y"),
        ("Café", "prix"),
        ("_",),
        ("",),
        ("a__b",),
        ("0042", "Auto"),
        ("select", "GROUP BY"),
    ],
)
def test_slug_is_one_lowercase_identifier(parts: tuple[str, ...]) -> None:
    import re

    from migration_lint.codegen import slug

    # What the pattern alone gives, for every input the shortcut takes or does not.
    expected = re.sub(r"[^a-z0-9]+", "_", "_".join(parts).lower()).strip("_")
    assert slug(*parts) == expected
