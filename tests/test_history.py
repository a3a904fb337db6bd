"""``build_history``: the migration graph from source facts, as Django's loader would build it."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from migration_lint.facts import MigrationFacts
from migration_lint.history import GraphProblem, History, build_history
from migration_lint.source.parse import parse_migration

HEADER = """\
from django.conf import settings
from django.db import migrations


class Migration(migrations.Migration):
"""


def facts_of(path: str, body: str) -> MigrationFacts:
    """``path`` is ``app/name``; ``body`` the class body, or a whole file when it starts with '!'."""
    app, name = path.split("/")
    source = body[1:] if body.startswith("!") else HEADER + body
    return parse_migration(f"{app}/migrations/{name}.py", source.encode(), app)


def deps(*keys: str) -> str:
    """``dependencies = [...]`` from ``"app.name"`` strings, one per line."""
    lines = "".join(f'        ("{k.split(".")[0]}", "{k.split(".")[1]}"),\n' for k in keys)
    return f"    dependencies = [\n{lines}    ]\n"


def history(
    files: Sequence[tuple[str, str]], extra_names: dict[str, set[str]] | None = None
) -> History:
    facts = [facts_of(path, body) for path, body in files]
    names: dict[str, set[str]] = {}
    for f in facts:
        names.setdefault(f.app_label, set()).add(f.name)
    for app, more in (extra_names or {}).items():
        names.setdefault(app, set()).update(more)
    return build_history(facts, names)


def dotted(keys: Sequence[tuple[str, str]]) -> list[str]:
    return [f"{app}.{name}" for app, name in keys]


def before(order: list[str], first: str, second: str) -> bool:
    return order.index(first) < order.index(second)


EMPTY = "    operations = []\n"


# --- order --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "constraints"),
    (
        pytest.param(
            [
                ("shop/0001_initial", EMPTY),
                ("shop/0002_b", deps("shop.0001_initial")),
                ("shop/0003_c", deps("shop.0002_b")),
            ],
            [("shop.0001_initial", "shop.0002_b"), ("shop.0002_b", "shop.0003_c")],
            id="linear",
        ),
        pytest.param(
            [
                ("shop/0001_initial", deps("billing.0002_b")),
                ("billing/0001_initial", EMPTY),
                ("billing/0002_b", deps("billing.0001_initial")),
            ],
            [("billing.0002_b", "shop.0001_initial"), ("billing.0001_initial", "billing.0002_b")],
            id="across-apps-against-name-order",
        ),
        pytest.param(
            [
                ("shop/0001_initial", EMPTY),
                ("shop/0002_b", deps("shop.0001_initial")),
                (
                    "billing/0001_initial",
                    deps("shop.0001_initial") + '    run_before = [("shop", "0002_b")]\n',
                ),
            ],
            [
                ("shop.0001_initial", "billing.0001_initial"),
                ("billing.0001_initial", "shop.0002_b"),
            ],
            id="run-before",
        ),
        pytest.param(
            [
                ("a/0001_initial", deps("b.0001_initial", "c.0001_initial")),
                ("b/0001_initial", deps("c.0001_initial")),
                ("c/0001_initial", EMPTY),
            ],
            [("c.0001_initial", "b.0001_initial"), ("b.0001_initial", "a.0001_initial")],
            id="diamond",
        ),
        pytest.param(
            [
                ("shop/0001_initial", EMPTY),
                ("shop/0002_a", deps("shop.0001_initial")),
                ("shop/0002_b", deps("shop.0001_initial")),
                ("shop/0003_merge", deps("shop.0002_a", "shop.0002_b")),
            ],
            [
                ("shop.0001_initial", "shop.0002_a"),
                ("shop.0002_a", "shop.0003_merge"),
                ("shop.0002_b", "shop.0003_merge"),
            ],
            id="merge-migration",
        ),
    ),
)
def test_order_respects_dependencies(
    files: list[tuple[str, str]], constraints: list[tuple[str, str]]
) -> None:
    result = history(files)
    order = dotted(result.order)
    assert sorted(order) == sorted(path.replace("/", ".") for path, _ in files)
    for first, second in constraints:
        assert before(order, first, second), order
    assert result.problems == []


def test_order_is_deterministic_by_name() -> None:
    files = [
        ("shop/0001_initial", EMPTY),
        ("billing/0001_initial", EMPTY),
        ("crm/0001_initial", EMPTY),
    ]
    assert dotted(history(files).order) == dotted(history(files[::-1]).order)
    assert dotted(history(files).order) == [
        "billing.0001_initial",
        "crm.0001_initial",
        "shop.0001_initial",
    ]


def test_parents() -> None:
    result = history(
        [
            ("shop/0001_initial", EMPTY),
            ("shop/0002_b", deps("shop.0001_initial", "billing.0001_initial")),
            ("billing/0001_initial", EMPTY),
        ]
    )
    assert result.parents[("shop", "0002_b")] == [
        ("shop", "0001_initial"),
        ("billing", "0001_initial"),
    ]
    assert result.parents[("shop", "0001_initial")] == []
    assert result.apps() == {"shop", "billing"}


@pytest.mark.parametrize(
    ("files", "dependency", "resolved"),
    (
        pytest.param(
            [("shop/0001_initial", EMPTY), ("shop/0002_b", deps("shop.0001_initial"))],
            "shop.__first__",
            ("shop", "0001_initial"),
            id="first",
        ),
        pytest.param(
            [("shop/0001_initial", EMPTY), ("shop/0002_b", deps("shop.0001_initial"))],
            "shop.__latest__",
            ("shop", "0002_b"),
            id="latest",
        ),
        pytest.param(
            [
                ("shop/0001_initial", EMPTY),
                ("shop/0002_b", deps("shop.0001_initial")),
                (
                    "shop/0001_squashed_0002_b",
                    '    replaces = [("shop", "0001_initial"), ("shop", "0002_b")]\n',
                ),
            ],
            "shop.__first__",
            ("shop", "0001_squashed_0002_b"),
            id="first-is-the-squash",
        ),
    ),
)
def test_first_and_latest(
    files: list[tuple[str, str]], dependency: str, resolved: tuple[str, str]
) -> None:
    result = history([*files, ("billing/0001_initial", deps(dependency))])
    assert result.parents[("billing", "0001_initial")] == [resolved]
    assert before(dotted(result.order), ".".join(resolved), "billing.0001_initial")
    assert result.problems == []


def test_first_of_an_app_with_no_migrations_on_disk_is_ignored() -> None:
    result = history([("billing/0001_initial", deps("shop.__first__"))], {"shop": set()})
    assert result.parents[("billing", "0001_initial")] == []
    assert result.problems == []


# --- squashed migrations ------------------------------------------------------------------------

SQUASH = [
    ("shop/0001_initial", EMPTY),
    ("shop/0002_b", deps("shop.0001_initial")),
    ("shop/0003_c", deps("shop.0002_b")),
    (
        "shop/0001_squashed_0002_b",
        '    replaces = [("shop", "0001_initial"), ("shop", "0002_b")]\n',
    ),
]


def test_squash_stands_in_for_its_originals() -> None:
    result = history([*SQUASH, ("billing/0001_initial", deps("shop.0001_initial"))])
    order = dotted(result.order)
    assert "shop.0001_initial" not in order
    assert "shop.0002_b" not in order
    assert before(order, "shop.0001_squashed_0002_b", "shop.0003_c")
    assert before(order, "shop.0001_squashed_0002_b", "billing.0001_initial")
    assert result.parents[("shop", "0003_c")] == [("shop", "0001_squashed_0002_b")]
    assert result.parents[("billing", "0001_initial")] == [("shop", "0001_squashed_0002_b")]
    assert result.replaced_by == {
        ("shop", "0001_initial"): ("shop", "0001_squashed_0002_b"),
        ("shop", "0002_b"): ("shop", "0001_squashed_0002_b"),
    }
    # The originals stay known (they are still files that can be linted).
    assert ("shop", "0002_b") in result.migrations
    assert result.problems == []


def test_squash_of_deleted_originals() -> None:
    result = history(
        [
            (
                "shop/0001_squashed_0002_b",
                '    replaces = [("shop", "0001_initial"), ("shop", "0002_b")]\n',
            ),
            ("shop/0003_c", deps("shop.0002_b")),
        ]
    )
    assert dotted(result.order) == ["shop.0001_squashed_0002_b", "shop.0003_c"]
    assert result.problems == []


def test_leaves_with_a_squash() -> None:
    assert history(SQUASH).leaves("shop") == [("shop", "0003_c")]


# --- problems -----------------------------------------------------------------------------------


def test_missing_dependency_is_a_problem_with_its_line() -> None:
    result = history(
        [
            ("shop/0001_initial", EMPTY),
            ("shop/0002_b", deps("shop.0001_initial", "shop.0001_gone")),
        ]
    )
    # HEADER has 5 lines; "dependencies = [" is line 6, the entries lines 7 and 8.
    assert result.problems == [
        GraphProblem(
            "missing",
            ("shop", "0002_b"),
            "depends on shop.0001_gone, which does not exist",
            line=8,
        )
    ]
    assert dotted(result.order) == ["shop.0001_initial", "shop.0002_b"]


def test_missing_dependency_in_another_linted_app() -> None:
    result = history(
        [("shop/0001_initial", deps("billing.0002_gone")), ("billing/0001_initial", EMPTY)]
    )
    assert [(p.kind, p.migration, p.line) for p in result.problems] == [
        ("missing", ("shop", "0001_initial"), 7)
    ]


def test_missing_run_before_target_is_a_problem() -> None:
    result = history([("shop/0001_initial", '    run_before = [("shop", "0009_gone")]\n')])
    assert [(p.kind, p.detail) for p in result.problems] == [
        ("missing", "depends on shop.0009_gone, which does not exist")
    ]


@pytest.mark.parametrize(
    "dependency",
    (
        pytest.param('("contenttypes", "0002_remove_content_type_name")', id="contrib-app"),
        pytest.param('("auth", "__first__")', id="first-of-unknown-app"),
        pytest.param("migrations.swappable_dependency(settings.AUTH_USER_MODEL)", id="swappable"),
    ),
)
def test_dependency_on_an_app_not_on_disk_is_ignored(dependency: str) -> None:
    result = history([("shop/0001_initial", f"    dependencies = [{dependency}]\n")])
    assert result.problems == []
    assert result.parents[("shop", "0001_initial")] == []


def test_swappable_dependency_on_a_linted_app_is_not_missing() -> None:
    # ``swappable_dependency(settings.AUTH_USER_MODEL)`` guesses "auth": a linted auth app
    # without migrations must not make it a missing dependency.
    result = history(
        [
            ("auth/0001_initial", EMPTY),
            (
                "shop/0001_initial",
                "    dependencies = [migrations.swappable_dependency(settings.AUTH_USER_MODEL)]\n",
            ),
        ]
    )
    assert result.problems == []
    assert result.parents[("shop", "0001_initial")] == [("auth", "0001_initial")]


def test_dependency_on_a_file_that_failed_to_parse_is_not_missing() -> None:
    result = history(
        [
            ("shop/0001_initial", "!class Migration(:\n"),
            ("shop/0002_b", deps("shop.0001_initial")),
        ]
    )
    assert result.problems == []
    assert dotted(result.order) == ["shop.0002_b"]
    assert ("shop", "0001_initial") not in result.migrations


def test_dependency_on_a_replaced_migration_is_not_missing() -> None:
    result = history(
        [
            (
                "shop/0001_squashed_0002_b",
                '    replaces = [("shop", "0001_initial"), ("shop", "0002_b")]\n',
            ),
            ("billing/0001_initial", deps("shop.0002_b")),
        ]
    )
    assert result.problems == []
    assert result.parents[("billing", "0001_initial")] == [("shop", "0001_squashed_0002_b")]


def test_files_that_are_not_migrations_are_not_nodes() -> None:
    result = history([("shop/0001_initial", EMPTY), ("shop/helpers", "!X = 1\n")])
    assert dotted(result.order) == ["shop.0001_initial"]


def test_self_dependency_is_ignored() -> None:
    result = history([("shop/0001_initial", deps("shop.0001_initial"))])
    assert result.problems == []
    assert dotted(result.order) == ["shop.0001_initial"]


# --- cycles -------------------------------------------------------------------------------------


def test_cycle_is_reported_on_every_member() -> None:
    result = history(
        [
            ("shop/0001_initial", deps("billing.0001_initial")),
            ("billing/0001_initial", deps("crm.0001_initial")),
            ("crm/0001_initial", deps("shop.0001_initial")),
            ("crm/0002_after", deps("crm.0001_initial")),
            ("other/0001_initial", EMPTY),
        ]
    )
    cycles = {p.migration: p for p in result.problems if p.kind == "cycle"}
    assert set(cycles) == {
        ("shop", "0001_initial"),
        ("billing", "0001_initial"),
        ("crm", "0001_initial"),
    }
    assert all(p.kind == "cycle" for p in result.problems)
    # Each detail starts and ends with its own migration and names every member.
    for key, problem in cycles.items():
        names = problem.detail.split(" -> ")
        assert names[0] == names[-1] == f"{key[0]}.{key[1]}"
        assert set(names) == {"shop.0001_initial", "billing.0001_initial", "crm.0001_initial"}
    # In the order they would have to run: shop's 0001 runs before crm's, which depends on it.
    assert cycles[("shop", "0001_initial")].detail == (
        "shop.0001_initial -> crm.0001_initial -> billing.0001_initial -> shop.0001_initial"
    )
    # On the dependency line of each member.
    assert {p.line for p in cycles.values()} == {7}
    # Every migration still has a place in the order, the stuck ones last.
    assert sorted(dotted(result.order)) == sorted(
        [
            "shop.0001_initial",
            "billing.0001_initial",
            "crm.0001_initial",
            "crm.0002_after",
            "other.0001_initial",
        ]
    )
    assert dotted(result.order)[0] == "other.0001_initial"


def test_two_separate_cycles_are_both_reported() -> None:
    result = history(
        [
            ("a/0001_initial", deps("b.0001_initial")),
            ("b/0001_initial", deps("a.0001_initial")),
            ("x/0001_initial", deps("y.0001_initial")),
            ("y/0001_initial", deps("x.0001_initial")),
        ]
    )
    assert sorted(p.migration for p in result.problems) == [
        ("a", "0001_initial"),
        ("b", "0001_initial"),
        ("x", "0001_initial"),
        ("y", "0001_initial"),
    ]
    details = {p.migration: p.detail for p in result.problems}
    assert details[("x", "0001_initial")] == "x.0001_initial -> y.0001_initial -> x.0001_initial"


def test_migration_that_only_depends_on_a_cycle_is_not_a_member() -> None:
    result = history(
        [
            ("a/0001_initial", deps("b.0001_initial")),
            ("b/0001_initial", deps("a.0001_initial")),
            ("c/0001_initial", deps("a.0001_initial")),
        ]
    )
    assert ("c", "0001_initial") not in {p.migration for p in result.problems}
    assert ("c", "0001_initial") in result.order


def test_cycle_within_one_app() -> None:
    result = history(
        [
            ("shop/0001_initial", deps("shop.0002_b")),
            ("shop/0002_b", deps("shop.0001_initial")),
        ]
    )
    assert {p.detail for p in result.problems} == {
        "shop.0001_initial -> shop.0002_b -> shop.0001_initial",
        "shop.0002_b -> shop.0001_initial -> shop.0002_b",
    }


def test_cycle_through_run_before() -> None:
    result = history(
        [
            ("shop/0001_initial", deps("billing.0001_initial")),
            (
                "billing/0001_initial",
                '    run_before = [("shop", "0001_initial")]\n' + deps("shop.0001_initial"),
            ),
        ]
    )
    assert {p.kind for p in result.problems} == {"cycle"}
    assert {p.migration for p in result.problems} == {
        ("shop", "0001_initial"),
        ("billing", "0001_initial"),
    }


# --- leaves -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "app", "expected"),
    (
        pytest.param(
            [("shop/0001_initial", EMPTY), ("shop/0002_b", deps("shop.0001_initial"))],
            "shop",
            ["shop.0002_b"],
            id="linear",
        ),
        pytest.param(
            [
                ("shop/0001_initial", EMPTY),
                ("shop/0002_a", deps("shop.0001_initial")),
                ("shop/0002_b", deps("shop.0001_initial")),
            ],
            "shop",
            ["shop.0002_a", "shop.0002_b"],
            id="conflict-two-leaves",
        ),
        pytest.param(
            [
                ("shop/0001_initial", EMPTY),
                ("shop/0002_a", deps("shop.0001_initial")),
                ("shop/0002_b", deps("shop.0001_initial")),
                ("shop/0003_merge", deps("shop.0002_a", "shop.0002_b")),
            ],
            "shop",
            ["shop.0003_merge"],
            id="merged",
        ),
        pytest.param(
            [("shop/0001_initial", EMPTY), ("billing/0001_initial", deps("shop.0001_initial"))],
            "shop",
            ["shop.0001_initial"],
            id="other-apps-do-not-count",
        ),
        pytest.param([("shop/0001_initial", EMPTY)], "billing", [], id="unknown-app"),
    ),
)
def test_leaves(files: list[tuple[str, str]], app: str, expected: list[str]) -> None:
    assert dotted(history(files).leaves(app)) == expected


def test_replay_snapshots_do_not_change_with_later_operations() -> None:
    # The replay keeps a snapshot of the models before every linted migration, sharing each
    # app's models with the table until the table writes to that app again.
    import random
    from collections.abc import Mapping

    from migration_lint.facts import ModelState
    from migration_lint.history import _Table

    rng = random.Random(7)
    table = _Table()
    plain: dict[tuple[str, str], ModelState] = {}
    taken: list[tuple[Mapping[tuple[str, str], ModelState], dict[tuple[str, str], ModelState]]] = []
    for step in range(2_000):
        key = (f"app{rng.randrange(4)}", f"model{rng.randrange(12)}")
        if rng.random() < 0.25:
            assert (key in table) == (key in plain)
            if key in plain:
                del table[key], plain[key]
            else:
                with pytest.raises(KeyError):
                    del table[key]
        else:
            state = ModelState(key[0], key[1], f"table_{step}")
            table[key] = plain[key] = state
        if step % 7 == 0:
            taken.append((table.snapshot(), dict(plain)))
    assert dict(table.items()) == plain
    for snapshot, expected in taken:
        assert dict(snapshot.items()) == expected
        assert len(snapshot) == len(expected)
        assert sorted(snapshot) == sorted(expected)
        assert sorted(snapshot.values(), key=id) == sorted(expected.values(), key=id)
        for key in (("app0", "model0"), ("app3", "model11"), ("nowhere", "model0")):
            assert snapshot.get(key) is expected.get(key)
            assert (key in snapshot) == (key in expected)
            if key in expected:
                assert snapshot[key] is expected[key]
