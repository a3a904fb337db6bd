"""direct_init: the frozen dataclasses keep their signature and their frozenness."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pickle
import pkgutil

import pytest

import migration_lint
from migration_lint.frozen import direct_init


@dataclasses.dataclass(frozen=True)
class _Plain:
    name: str
    count: int = 0
    tags: dict[str, int] = dataclasses.field(default_factory=dict)


@direct_init
@dataclasses.dataclass(frozen=True)
class _Direct:
    name: str
    count: int = 0
    tags: dict[str, int] = dataclasses.field(default_factory=dict)


def _fields(obj: object) -> dict[str, object]:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [(("a",), {}), (("a", 2), {}), (("a",), {"tags": {"x": 1}}), ((), {"name": "a", "count": 3})],
)
def test_same_instances_as_the_dataclass_init(args: tuple, kwargs: dict) -> None:
    assert _fields(_Direct(*args, **kwargs)) == _fields(_Plain(*args, **kwargs))


def test_default_factory_gives_each_instance_its_own() -> None:
    first, second = _Direct("a"), _Direct("b")
    assert first.tags == {} and first.tags is not second.tags


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((), {}), (("a", 1, {}, 4), {}), (("a",), {"name": "b"}), (("a",), {"x": 1})],
)
def test_bad_calls_fail_as_they_did(args: tuple, kwargs: dict) -> None:
    with pytest.raises(TypeError):
        _Plain(*args, **kwargs)
    with pytest.raises(TypeError):
        _Direct(*args, **kwargs)


def test_still_frozen_hashable_and_picklable() -> None:
    item = _Direct("a", 1, {})
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.name = "b"  # type: ignore[misc]
    assert item == _Direct("a", 1, {}) and item != _Direct("a", 2, {})
    assert pickle.loads(pickle.dumps(item)) == item
    assert hash(_Direct("a", tags=None)) == hash(_Direct("a", tags=None))  # type: ignore[arg-type]


def test_refuses_what_it_cannot_copy() -> None:
    with pytest.raises(TypeError, match="frozen"):
        direct_init(dataclasses.dataclass(type("Loose", (), {"__annotations__": {"a": int}})))

    class Post:
        a: int

        def __post_init__(self) -> None:
            pass

    with pytest.raises(TypeError, match="__post_init__"):
        direct_init(dataclasses.dataclass(frozen=True)(Post))

    class Later:
        a: int
        b: dataclasses.InitVar[int]

    with pytest.raises(TypeError, match="InitVar"):
        direct_init(dataclasses.dataclass(frozen=True)(Later))


def _package_classes() -> list[type]:
    found = []
    for info in pkgutil.walk_packages(migration_lint.__path__, "migration_lint."):
        if ".management" in info.name or info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            init = getattr(value, "__init__", None)
            if (
                isinstance(value, type)
                and value.__module__ == module.__name__
                and getattr(init, "__module__", None) == module.__name__
                and dataclasses.is_dataclass(value)
                and "<locals>" not in getattr(init, "__qualname__", "<locals>")
                and init.__code__.co_filename == "<string>"
                and "__dict__" in init.__code__.co_names
            ):
                found.append(value)
    return found


def test_package_classes_keep_the_dataclass_signature() -> None:
    classes = _package_classes()
    assert {c.__name__ for c in classes} >= {"Call", "FieldState", "Finding", "FixStep"}
    for cls in classes:
        # The dataclass's own __init__ for the same fields, to compare with.
        fields = dataclasses.fields(cls)
        namespace = {"__annotations__": {f.name: f.type for f in fields}}
        for f in fields:
            default = f.default_factory if f.default is dataclasses.MISSING else f.default
            if default is not dataclasses.MISSING:
                kind = "default" if f.default is not dataclasses.MISSING else "default_factory"
                namespace[f.name] = dataclasses.field(**{kind: default})
        twin = dataclasses.dataclass(frozen=True)(type(cls.__name__, (), namespace))
        assert _signature(cls) == _signature(twin), cls


def _signature(cls: type) -> list[tuple[str, object, str]]:
    # The defaults by repr: a default_factory shows as <factory> in both.
    return [(p.name, p.kind, repr(p.default)) for p in inspect.signature(cls).parameters.values()]
