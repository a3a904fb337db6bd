"""What Django does with constraint and index options a database does not support.

The table is FACTS.md's ("What Django emits for unique constraints"), the same in Django 4.2,
5.2 and 6.1; ``tests/test_portability_reality.py`` applies each case on real SQLite, PostgreSQL
and MariaDB and checks this table against what the database ends up with. Rendered SQL, when
the project is loaded, overrides it (see the ML4xx rules).
"""

from __future__ import annotations

from dataclasses import dataclass

from migration_lint.facts import Call, Value

NOTHING = "nothing"  # no constraint or index at all
REBUILT_WITHOUT = "rebuilt-without"  # SQLite rebuilds the table and leaves the constraint out
DEGRADED = "degraded"  # created, without the option


@dataclass(frozen=True)
class Ignored:
    option: str
    vendor: str
    outcome: str
    check: str | None = None

    def describe(self, kind: str) -> str:
        where = _VENDOR_NAMES.get(self.vendor, self.vendor)
        if self.outcome == NOTHING:
            return f"Django creates no {kind} at all on {where}"
        if self.outcome == REBUILT_WITHOUT:
            return f"Django rebuilds the {where} table without the {kind}"
        return f"Django creates the {kind} on {where} without {self.option}"


_VENDOR_NAMES = {
    "sqlite": "SQLite",
    "mysql": "MySQL",
    "mariadb": "MariaDB",
    "postgresql": "PostgreSQL",
}


def flavour(vendor: str, version: str | None) -> str:
    """``mysql`` targets with a ``mariadb`` version are MariaDB."""
    if vendor == "mysql" and version and version.lower().startswith("mariadb"):
        return "mariadb"
    return vendor


def _given(call: Call, option: str) -> bool:
    value: Value = call.kwargs.get(option)
    if option == "nulls_distinct":
        return option in call.kwargs and value is not None
    return value not in (None, (), False, "")


def _major(version: str | None, default: int) -> int:
    if not version:
        return default
    digits = "".join(ch if ch.isdigit() or ch == "." else " " for ch in version).split()
    try:
        return int(digits[0].split(".")[0]) if digits else default
    except ValueError:
        return default


def unique_constraint(call: Call, vendor: str, version: str | None) -> list[Ignored]:
    """Options of ``UniqueConstraint(...)`` that ``vendor`` ignores, and what Django does then."""
    db = flavour(vendor, version)
    out: list[Ignored] = []
    mysqlish = db in ("mysql", "mariadb")
    if _given(call, "condition") and mysqlish:
        out.append(Ignored("condition", db, NOTHING, "models.W036"))
    if _given(call, "include") and (mysqlish or db == "sqlite"):
        out.append(Ignored("include", db, NOTHING, "models.W039"))
    if _given(call, "deferrable") and (mysqlish or db == "sqlite"):
        out.append(Ignored("deferrable", db, NOTHING, "models.W038"))
    if _given(call, "nulls_distinct"):
        if mysqlish:
            out.append(Ignored("nulls_distinct", db, NOTHING, "models.W047"))
        elif db == "sqlite":
            out.append(Ignored("nulls_distinct", db, REBUILT_WITHOUT, "models.W047"))
        elif db == "postgresql" and _major(version, 15) < 15:
            out.append(Ignored("nulls_distinct", f"{db} {version}", NOTHING, "models.W047"))
    if call.args and (db == "mariadb" or (db == "mysql" and version and _major(version, 8) < 8)):
        out.append(Ignored("expressions", db, NOTHING, "models.W044"))
    if _given(call, "opclasses") and (mysqlish or db == "sqlite"):
        out.append(Ignored("opclasses", db, DEGRADED))
    return out


def index(call: Call, vendor: str, version: str | None) -> list[Ignored]:
    """Options of ``Index(...)`` that ``vendor`` ignores."""
    db = flavour(vendor, version)
    mysqlish = db in ("mysql", "mariadb")
    out: list[Ignored] = []
    if _given(call, "include") and (mysqlish or db == "sqlite"):
        out.append(Ignored("include", db, DEGRADED, "models.W040"))
    if _given(call, "condition") and mysqlish:
        out.append(Ignored("condition", db, DEGRADED, "models.W037"))
    if _given(call, "opclasses") and (mysqlish or db == "sqlite"):
        out.append(Ignored("opclasses", db, DEGRADED))
    if call.args and db == "mariadb":
        out.append(Ignored("expressions", db, NOTHING, "models.W043"))
    return out
