"""The reporters: text for people, JSON and SARIF checked against their schemas, GitHub commands."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest

import migration_lint
from migration_lint.findings import Finding, FixStep, Severity
from migration_lint.reporters import FORMATS, Report, render

ROOT = Path(__file__).resolve().parents[1]
FINDINGS_SCHEMA = ROOT / "migration_lint" / "schema" / "findings-v1.json"
SARIF_SCHEMA = Path(__file__).resolve().parents[2] / "shared" / "data" / "sarif-schema-2.1.0.json"


class FakeUnique:
    """Not a Rule subclass: subclassing would register it in the global registry."""

    code = "ML101"
    name = "unique-blocking-build"
    severity = Severity.ERROR

    @classmethod
    def summary(cls) -> str:
        return "A unique constraint built with a lock on an existing table."

    @classmethod
    def body(cls) -> str:
        return "## What it does\nFinds blocking unique builds."


class FakeOrm:
    code = "ML301"
    name = "get-or-create-without-unique"
    severity = Severity.WARNING

    @classmethod
    def summary(cls) -> str:
        return "get_or_create whose lookup no unique constraint covers."

    @classmethod
    def body(cls) -> str:
        return ""


RULES = {"ML101": FakeUnique, "ML301": FakeOrm}

STEPS = (
    FixStep(
        title="Build the index concurrently",
        explanation="Writes continue while it builds.",
        code='migrations.RunSQL(\n    "CREATE UNIQUE INDEX CONCURRENTLY ...",\n)',
        path="shop/migrations/0003_index.py",
    ),
    FixStep(title="Attach the constraint", code="AddConstraintNotValid(...)"),
)

FINDINGS = (
    Finding(
        code="ML101",
        severity=Severity.ERROR,
        path="shop/migrations/0002_unique_ref.py",
        line=14,
        column=9,
        end_line=17,
        message="Adding unique (ref) locks shop_order against writes",
        help="Build the index concurrently, then attach it.",
        fix=STEPS,
        app_label="shop",
        migration="0002_unique_ref",
        target="postgresql",
        extra={"table": "shop_order", "rows": 12000},
    ),
    Finding(
        code="ML301",
        severity=Severity.WARNING,
        path="shop/views.py",
        line=3,
        column=1,
        message="get_or_create(email=...) can create duplicates",
    ),
    Finding(
        code="ML301",
        severity=Severity.INFO,
        path="shop/views.py",
        line=8,
        column=5,
        message="informational",
    ),
)


def report(findings: tuple[Finding, ...] = FINDINGS, **kwargs: object) -> Report:
    return Report(findings=findings, rules=RULES, files_checked=12, **kwargs)  # type: ignore[arg-type]


def load_schema(path: Path) -> dict[str, object]:
    if not path.exists():
        reason = f"{path} is missing (CI provides ../shared/data beside the checkout)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return json.loads(path.read_text(encoding="utf-8"))


def validate(document: object, schema: dict[str, object]) -> None:
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    cls(schema, format_checker=cls.FORMAT_CHECKER).validate(document)


# -- dispatch ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_renders_a_clean_run(fmt: str) -> None:
    assert isinstance(render(fmt, report(())), str)


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="xml"):
        render("xml", report())


# -- text --------------------------------------------------------------------------------------


def test_text_plain() -> None:
    out = render("text", report())
    assert "\x1b" not in out
    lines = out.splitlines()
    assert lines[0] == (
        "shop/migrations/0002_unique_ref.py:14:9: ML101 "
        "Adding unique (ref) locks shop_order against writes"
    )
    assert "  help: Build the index concurrently, then attach it." in lines
    assert "    1. Build the index concurrently (in shop/migrations/0003_index.py)" in lines
    assert "       Writes continue while it builds." in lines
    # The code sits 4 spaces deeper than the explanation, its own indentation kept.
    assert "           migrations.RunSQL(" in lines
    assert '               "CREATE UNIQUE INDEX CONCURRENTLY ...",' in lines
    assert "    2. Attach the constraint" in lines
    assert "shop/views.py:3:1: ML301 get_or_create(email=...) can create duplicates" in lines
    assert lines[-1] == "Found 3 problems (1 error, 1 warning, 1 info) in 12 files."
    assert not any(line != line.rstrip() for line in lines)


def test_text_color() -> None:
    out = render("text", report(color=True))
    assert "\x1b[1mshop/migrations/0002_unique_ref.py:14:9:\x1b[0m" in out
    assert "\x1b[31mML101" in out
    assert "\x1b[33mML301" in out
    assert "\x1b[36mML301" in out
    assert "\x1b[2m  help:" in out


@pytest.mark.parametrize(
    ("files", "expected"),
    [(12, "All checks passed (12 files)."), (1, "All checks passed (1 file).")],
)
def test_text_clean(files: int, expected: str) -> None:
    out = render("text", Report(findings=(), rules=RULES, files_checked=files))  # type: ignore[arg-type]
    assert out == expected + "\n"


# -- json --------------------------------------------------------------------------------------


def test_json_matches_schema() -> None:
    document = json.loads(render("json", report()))
    validate(document, load_schema(FINDINGS_SCHEMA))
    assert document["version"] == 1
    first = document["findings"][0]
    assert list(first) == [
        "code", "severity", "path", "line", "column", "end_line", "message", "help", "fix",
        "app_label", "migration", "target", "extra",
    ]  # fmt: skip
    assert (first["line"], first["column"], first["end_line"]) == (14, 9, 17)
    assert first["fix"][0] == {
        "title": STEPS[0].title,
        "explanation": STEPS[0].explanation,
        "code": STEPS[0].code,
    }
    assert first["extra"] == {"table": "shop_order", "rows": 12000}
    assert [f["severity"] for f in document["findings"]] == ["error", "warning", "info"]
    assert document["findings"][1]["target"] is None


def test_json_schema_rejects_unknown_keys() -> None:
    document = json.loads(render("json", report()))
    document["findings"][0]["surprise"] = True
    with pytest.raises(jsonschema.ValidationError):
        validate(document, load_schema(FINDINGS_SCHEMA))


# -- sarif -------------------------------------------------------------------------------------


def test_sarif_matches_schema(tmp_path: Path) -> None:
    document = json.loads(render("sarif", report(root=str(tmp_path))))
    validate(document, load_schema(SARIF_SCHEMA))
    assert document["version"] == "2.1.0"
    (run,) = document["runs"]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.as_uri() + "/"
    driver = run["tool"]["driver"]
    assert driver["name"] == "migration-lint"
    assert driver["version"] == migration_lint.__version__


def test_sarif_rules_and_results() -> None:
    (run,) = json.loads(render("sarif", report()))["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["ML101", "ML301"]
    assert rules[0]["name"] == "unique-blocking-build"
    assert rules[0]["shortDescription"]["text"] == FakeUnique.summary()
    assert rules[0]["fullDescription"]["text"] == FakeUnique.body()
    assert rules[0]["help"] == {"text": FakeUnique.body(), "markdown": FakeUnique.body()}
    assert [r["defaultConfiguration"]["level"] for r in rules] == ["error", "warning"]

    first, second, third = run["results"]
    assert (first["ruleId"], first["ruleIndex"], first["level"]) == ("ML101", 0, "error")
    assert (second["ruleIndex"], second["level"], third["level"]) == (1, "warning", "note")
    assert first["message"]["text"] == (
        "Adding unique (ref) locks shop_order against writes\n"
        "Build the index concurrently, then attach it."
    )
    assert second["message"]["text"] == "get_or_create(email=...) can create duplicates"
    location = first["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {
        "uri": "shop/migrations/0002_unique_ref.py",
        "uriBaseId": "%SRCROOT%",
    }
    assert location["region"] == {"startLine": 14, "startColumn": 9, "endLine": 17}
    region = second["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 3, "startColumn": 1, "endLine": 3}
    assert [step["title"] for step in first["properties"]["fix"]] == [s.title for s in STEPS]


@pytest.mark.parametrize(
    ("path", "uri"),
    [
        ("shop\\migrations\\0001_initial.py", "shop/migrations/0001_initial.py"),
        ("./shop/my migrations/0001.py", "shop/my%20migrations/0001.py"),
    ],
)
def test_sarif_uri_is_relative_with_forward_slashes(path: str, uri: str) -> None:
    finding = Finding("ML101", Severity.ERROR, path, 1, 1, "m")
    (run,) = json.loads(render("sarif", report((finding,))))["runs"]
    location = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": uri, "uriBaseId": "%SRCROOT%"}


def test_sarif_absolute_path_under_root(tmp_path: Path) -> None:
    path = str(tmp_path / "shop" / "migrations" / "0001_initial.py")
    finding = Finding("ML101", Severity.ERROR, path, 1, 1, "m")
    (run,) = json.loads(render("sarif", report((finding,), root=str(tmp_path))))["runs"]
    location = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": "shop/migrations/0001_initial.py", "uriBaseId": "%SRCROOT%"}


# -- github ------------------------------------------------------------------------------------


def test_github_commands() -> None:
    lines = render("github", report()).splitlines()
    assert lines == [
        "::error file=shop/migrations/0002_unique_ref.py,line=14,col=9,endLine=17,"
        "title=ML101 (unique-blocking-build)::"
        "Adding unique (ref) locks shop_order against writes%0A"
        "Build the index concurrently, then attach it.",
        "::warning file=shop/views.py,line=3,col=1,endLine=3,"
        "title=ML301 (get-or-create-without-unique)::"
        "get_or_create(email=...) can create duplicates",
        "::notice file=shop/views.py,line=8,col=5,endLine=8,"
        "title=ML301 (get-or-create-without-unique)::informational",
    ]


def test_github_escapes_data_and_properties() -> None:
    finding = Finding(
        code="ML999",  # not in report.rules: the title is the bare code
        severity=Severity.WARNING,
        path="odd,dir/a:b.py",
        line=2,
        column=3,
        message="50%, a:b\nsecond line",
        help="fix\r\nit",
    )
    (line,) = render("github", report((finding,))).splitlines()
    assert line == (
        "::warning file=odd%2Cdir/a%3Ab.py,line=2,col=3,endLine=2,title=ML999::"
        "50%25, a:b%0Asecond line%0Afix%0D%0Ait"
    )


@pytest.mark.parametrize(
    ("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)]
)
def test_missing_schema_skips_or_fails_under_ci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ci: str, outcome: type[BaseException]
) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="missing"):
        load_schema(tmp_path / "absent.json")
