"""Rule pages (``rules/MLxxx.md``) rendered from the rule classes themselves.

``python -m migration_lint.docs`` rewrites the pages; ``--check`` exits 1 when one is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from migration_lint.rules.base import Example, Rule, registry


def example_files(example: Example, scaffold: bool = True) -> list[tuple[str, str]]:
    """The files an example consists of, as (relative path, content), the example itself last.

    Migrations are numbered in order: ``0001_initial.py``, ``0002_auto.py``, ... A project
    example also gets the project around them (``scaffold``): manage.py, settings, packages.
    """
    files = list(example.files)
    sources = [*example.history, example.source]
    if example.project and scaffold:
        files = [*_project_files(example, files), *files]
    for index, source in enumerate(sources, start=1):
        name = "0001_initial" if index == 1 else f"{index:04d}_auto"
        files.append((f"{example.app_label}/migrations/{name}.py", source))
    return files


def _project_files(example: Example, extra: list[tuple[str, str]]) -> list[tuple[str, str]]:
    apps = sorted({example.app_label, *(p.split("/")[0] for p, _ in extra if "/migrations/" in p)})
    settings = (
        'SECRET_KEY = "example"\n'
        'DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"\n'
        f"INSTALLED_APPS = {['django.contrib.contenttypes', 'django.contrib.auth', *apps]!r}\n"
        'DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}\n'
    )
    manage = 'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "exproject.settings")\n'
    files = [
        ("manage.py", manage),
        ("exproject/__init__.py", ""),
        ("exproject/settings.py", settings),
    ]
    for app in apps:
        files += [(f"{app}/__init__.py", ""), (f"{app}/migrations/__init__.py", "")]
    return files


def _render_example(kind: str, number: int, example: Example) -> list[str]:
    title = f"### {kind} {number}" + (f": {example.title}" if example.title else "")
    lines = [title, ""]
    if example.project:
        lines += ["Linted in a Django project (settings loaded, SQL rendered for each target).", ""]
    if example.targets:
        lines += [
            f"Target databases: {', '.join(example.targets)} (`--target {','.join(example.targets)}`).",
            "",
        ]
    files = example_files(example, scaffold=False)
    for path, content in files[:-1]:
        lines += [
            f"<details><summary>{path}</summary>",
            "",
            "```python",
            content.rstrip(),
            "```",
            "",
            "</details>",
            "",
        ]
    path, content = files[-1]
    lines += [f"`{path}`", "", "```python", content.rstrip(), "```", ""]
    return lines


def render_page(rule: type[Rule]) -> str:
    lines = [
        f"# {rule.code}: {rule.name}",
        "",
        f"**{rule.summary()}**",
        "",
        f"Severity: {rule.severity}. Suppress with `# noqa: {rule.code}` on the operation's lines.",
        "",
        rule.body(),
        "",
        "## Flagged examples",
        "",
    ]
    for number, example in enumerate(rule.flagged, start=1):
        lines += _render_example("Flagged", number, example)
    lines += ["## Accepted examples", ""]
    for number, example in enumerate(rule.accepted, start=1):
        lines += _render_example("Accepted", number, example)
    lines.append("<!-- Generated from the rule's class by `python -m migration_lint.docs`. -->")
    return "\n".join(lines) + "\n"


README_START, README_END = "<!-- rules:start -->", "<!-- rules:end -->"


def readme_table() -> str:
    rows = ["| Code | Name | Severity | What it reports | Page |", "|---|---|---|---|---|"]
    for code, rule in registry().items():
        rows.append(
            f"| {code} | `{rule.name}` | {rule.severity} | {rule.summary()} | [rules/{code}.md](rules/{code}.md) |"
        )
    return "\n".join(rows)


def with_readme_table(readme: str) -> str:
    """``readme`` with the text between the rules markers replaced by the current table."""
    head, start, rest = readme.partition(README_START)
    _, end, tail = rest.partition(README_END)
    if not start or not end:
        return readme
    return f"{head}{start}\n{readme_table()}\n{end}{tail}"


def pages() -> dict[str, str]:
    return {f"{code}.md": render_page(rule) for code, rule in registry().items()}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    check = "--check" in args
    folder = Path(next((a for a in args if not a.startswith("-")), "rules"))
    stale = []
    folder.mkdir(exist_ok=True)
    expected = pages()
    for name, text in expected.items():
        path = folder / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            stale.append(name)
            if not check:
                path.write_text(text, encoding="utf-8")
    orphans = [p.name for p in folder.glob("ML*.md") if p.name not in expected]
    readme = folder.parent / "README.md"
    if readme.exists() and with_readme_table(
        readme.read_text(encoding="utf-8")
    ) != readme.read_text(encoding="utf-8"):
        stale.append("../README.md")
    if check:
        for name in stale + orphans:
            print(f"{folder / name}: stale (run python -m migration_lint.docs)", file=sys.stderr)
        return 1 if stale or orphans else 0
    for name in orphans:
        (folder / name).unlink()
    readme = folder.parent / "README.md"
    if readme.exists():
        text = readme.read_text(encoding="utf-8")
        readme.write_text(with_readme_table(text), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
