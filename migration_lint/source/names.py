"""Qualified names from a module's imports, and one canonical name per Django class.

The standard library's ``ast`` is used (not libcst's QualifiedNameProvider) because the source
loader must read whole projects: on real migration files ``ast.parse`` is about 20x faster than
``libcst.parse_module`` and 80x faster than libcst with metadata (``benchmarks/source_lint.py``). Module
level imports are all migrations use, so a flat alias table gives the same answers.
"""

from __future__ import annotations

import ast

# Django re-exports its operations, fields and constraints from several modules; a rule asks for
# ``django.db.migrations.AddField`` whichever one the source imported from.
_CANONICAL_PREFIXES = (
    ("django.db.migrations.operations.fields.", "django.db.migrations."),
    ("django.db.migrations.operations.models.", "django.db.migrations."),
    ("django.db.migrations.operations.special.", "django.db.migrations."),
    ("django.db.migrations.operations.base.", "django.db.migrations."),
    ("django.db.migrations.operations.", "django.db.migrations."),
    ("django.db.migrations.migration.", "django.db.migrations."),
    ("django.db.migrations.", "django.db.migrations."),
    ("django.db.models.fields.related.", "django.db.models."),
    ("django.db.models.fields.json.", "django.db.models."),
    ("django.db.models.fields.files.", "django.db.models."),
    ("django.db.models.fields.", "django.db.models."),
    ("django.db.models.constraints.", "django.db.models."),
    ("django.db.models.indexes.", "django.db.models."),
    ("django.db.models.deletion.", "django.db.models."),
    ("django.db.models.query_utils.", "django.db.models."),
    ("django.db.models.expressions.", "django.db.models."),
    ("django.contrib.postgres.operations.", "django.contrib.postgres.operations."),
)


def canonical(qualname: str) -> str:
    # The same few dozen names come up thousands of times in a project.
    found = _CANONICAL.get(qualname)
    if found is None:
        found = _CANONICAL[qualname] = _canonical(qualname)
    return found


_CANONICAL: dict[str, str] = {}


def _canonical(qualname: str) -> str:
    for prefix, replacement in _CANONICAL_PREFIXES:
        if qualname.startswith(prefix):
            rest = qualname[len(prefix) :]
            # Only the class itself is re-exported: ``django.db.models.fields.Field.attname``
            # keeps its module path past the class name.
            if "." not in rest:
                return replacement + rest
            return qualname
    return qualname


class Imports:
    """Maps local names bound by module-level imports to the dotted names they stand for."""

    def __init__(self, module: ast.Module, module_name: str = "") -> None:
        self.aliases: dict[str, str] = {}
        self.modules: list[str] = []
        package = module_name.rpartition(".")[0]
        for node in module.body:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    self.modules.append(alias.name)
                    if alias.asname:
                        self.aliases[alias.asname] = alias.name
                    else:
                        # ``import django.db.models`` binds ``django``.
                        top = alias.name.partition(".")[0]
                        self.aliases.setdefault(top, top)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".") if package else []
                    parts = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
                    base = ".".join([*parts, base] if base else parts)
                self.modules.append(base)
                for alias in node.names:
                    if alias.name == "*":
                        continue
                    self.aliases[alias.asname or alias.name] = f"{base}.{alias.name}"

    def qualname(self, node: ast.expr) -> str | None:
        """``migrations.AddField`` -> ``django.db.migrations.AddField``; None if not a name."""
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        head = self.aliases.get(node.id, node.id)
        return canonical(".".join([head, *reversed(parts)]))
