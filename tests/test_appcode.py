"""The ML3xx loader and judge: which calls are found, which model and lookup they resolve to,
which are left unjudged (and counted), and what the fix plan writes."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from migration_lint.appcode import (
    FileScan,
    LookupValue,
    ModelRef,
    Target,
    application_files,
    module_name,
    scan_files,
    scan_source,
)
from migration_lint.findings import Finding
from migration_lint.lint import Options, Result, run
from tests.helpers import chdir, lint_project, write_tree

INITIAL = """\
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = [migrations.swappable_dependency(settings.AUTH_USER_MODEL)]
    operations = [
        migrations.CreateModel("Place", [("id", models.BigAutoField(primary_key=True)), ("name", models.CharField(max_length=10, unique=True)), ("city", models.CharField(max_length=10))]),
        migrations.CreateModel("Restaurant", [("place_ptr", models.OneToOneField(on_delete=models.CASCADE, parent_link=True, primary_key=True, serialize=False, to="shop.place")), ("stars", models.IntegerField())], bases=("shop.place",)),
        migrations.CreateModel("Customer", [("id", models.BigAutoField(primary_key=True)), ("user", models.OneToOneField(on_delete=models.CASCADE, to=settings.AUTH_USER_MODEL)), ("email", models.CharField(max_length=10))]),
        migrations.CreateModel("Order", [("id", models.BigAutoField(primary_key=True)), ("customer", models.ForeignKey(on_delete=models.CASCADE, to="shop.customer")), ("ref", models.CharField(max_length=10)), ("note", models.CharField(max_length=10, null=True))]),
        migrations.CreateModel("Line", [("id", models.BigAutoField(primary_key=True)), ("order", models.ForeignKey(on_delete=models.CASCADE, to="shop.order", related_name="lines")), ("sku", models.CharField(max_length=10))]),
        migrations.CreateModel("Tag", [("id", models.BigAutoField(primary_key=True)), ("name", models.CharField(max_length=10))]),
        migrations.AddField("order", "tags", models.ManyToManyField(to="shop.tag")),
        migrations.CreateModel("VipOrder", [], options={"proxy": True}, bases=("shop.order",)),
    ]
"""

MODELS = """\
from django.db import models


class Place(models.Model):
    name = models.CharField(max_length=10, unique=True)
    city = models.CharField(max_length=10)


class Restaurant(Place):
    stars = models.IntegerField()


class Customer(models.Model):
    user = models.OneToOneField("auth.User", on_delete=models.CASCADE)
    email = models.CharField(max_length=10)

    def add_order(self, ref):
        return self.order_set.get_or_create(ref=ref)


class Order(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE)
    ref = models.CharField(max_length=10)
    note = models.CharField(max_length=10, null=True)
    tags = models.ManyToManyField("Tag")

    @classmethod
    def for_ref(cls, ref):
        return cls.objects.get_or_create(ref=ref)


class Line(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    sku = models.CharField(max_length=10)


class Tag(models.Model):
    name = models.CharField(max_length=10)


class VipOrder(Order):
    class Meta:
        proxy = True
"""

HEADER = """\
from typing import Optional

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.shortcuts import get_object_or_404

from shop import models as m
from shop.models import Customer, Line, Order, Restaurant, Tag, VipOrder


"""
BODY_LINE = HEADER.count("\n") + 2  # the call's line in a one-statement function body


def lint(
    root: Path,
    files: Sequence[tuple[str, str]],
    *paths: str,
    initial: str = INITIAL,
    **options: object,
) -> Result:
    write_tree(root, [("shop/migrations/0001_initial.py", initial), *files])
    settings: dict[str, object] = {"select": ("ML3",), **options}
    with chdir(root):
        return run(
            Options(
                paths=paths or ("shop/migrations/0001_initial.py",),
                source_only=True,
                use_cache=False,
                **settings,  # type: ignore[arg-type]
            )
        )


def only(findings: Sequence[Finding], path: str = "shop/views.py") -> list[Finding]:
    return [f for f in findings if f.path == path]


def _function(body: str, params: str = "") -> str:
    return f"{HEADER}def view({params}):\n    {body}\n"


@pytest.mark.parametrize(
    ("body", "params", "model", "lookup"),
    [
        pytest.param(
            'Order.objects.get_or_create(ref=r, defaults={"note": "x"})',
            "r",
            "shop.Order",
            ["ref"],
            id="manager",
        ),
        pytest.param(
            "Order._default_manager.update_or_create(ref__exact=r)",
            "r",
            "shop.Order",
            ["ref"],
            id="default-manager-exact",
        ),
        pytest.param(
            "m.Order.objects.get_or_create(ref=r)", "r", "shop.Order", ["ref"], id="module-alias"
        ),
        pytest.param(
            'Order.objects.filter(customer_id=1).exclude(ref="x").get_or_create(ref=r)',
            "r",
            "shop.Order",
            ["customer", "ref"],
            id="queryset-filter-joins",
        ),
        pytest.param(
            "Order.objects.get_or_create(customer_id=1, ref=r)",
            "r",
            "shop.Order",
            ["customer", "ref"],
            id="fk-id",
        ),
        pytest.param(
            'Order.objects.get_or_create(**{"ref": r})',
            "r",
            "shop.Order",
            ["ref"],
            id="literal-kwargs",
        ),
        pytest.param(
            'order.lines.get_or_create(sku="x")',
            "order: Order",
            "shop.Line",
            ["order", "sku"],
            id="related-fk",
        ),
        pytest.param(
            'order.tags.get_or_create(name="x")',
            "order: Optional[Order]",
            "shop.Tag",
            ["name"],
            id="related-m2m",
        ),
        pytest.param(
            'tag.order_set.get_or_create(ref="x")',
            "tag: Tag",
            "shop.Order",
            ["ref"],
            id="related-m2m-reverse",
        ),
        pytest.param(
            'c.order_set.get_or_create(ref="x")',
            "c: 'Customer'",
            "shop.Order",
            ["customer", "ref"],
            id="related-default-name",
        ),
        pytest.param(
            'order.customer.order_set.get_or_create(ref="x")',
            "order: Order | None",
            "shop.Order",
            ["customer", "ref"],
            id="related-through-fk",
        ),
        pytest.param(
            'Order.objects.get(pk=1).lines.get_or_create(sku="x")',
            "",
            "shop.Line",
            ["order", "sku"],
            id="instance-from-get",
        ),
        pytest.param(
            'get_object_or_404(Order, pk=1).lines.aget_or_create(sku="x")',
            "",
            "shop.Line",
            ["order", "sku"],
            id="get-object-or-404-async",
        ),
        pytest.param(
            'Restaurant.objects.get_or_create(city="x")',
            "",
            "shop.Restaurant",
            ["city"],
            id="inherited-field",
        ),
        pytest.param(
            'VipOrder.objects.get_or_create(ref="x")', "", "shop.Order", ["ref"], id="proxy"
        ),
        pytest.param(
            'User.objects.get_or_create(email="x")', "", "auth.User", ["email"], id="contrib-user"
        ),
        pytest.param(
            'get_user_model().objects.get_or_create(email="x")',
            "",
            "auth.User",
            ["email"],
            id="get-user-model",
        ),
        pytest.param(
            'Order.objects.get_or_create(note__isnull=True, ref="q")',
            "",
            "shop.Order",
            ["note", "ref"],
            id="isnull-is-none",
        ),
        pytest.param("Order.objects.get_or_create()", "", "shop.Order", [], id="no-lookup"),
    ],
)
def test_calls_resolve_to_model_and_lookup(
    tmp_path: Path, body: str, params: str, model: str, lookup: list[str]
) -> None:
    files = [("shop/models.py", MODELS), ("shop/views.py", _function(body, params))]
    result = lint(tmp_path, files, "shop/views.py")
    findings = only(result.findings)
    assert [(f.code, f.line, f.extra["model"], f.extra["lookup"]) for f in findings] == [
        ("ML301", BODY_LINE, model, lookup)
    ]


def test_instances_from_assignments_unpacking_and_loops(tmp_path: Path) -> None:
    views = HEADER + (
        "async def view(pk):\n"
        "    order = await Order.objects.aget(pk=pk)\n"
        '    await order.lines.aget_or_create(sku="a")\n'
        "    o3, _ = Order.objects.get_or_create(pk=3)\n"
        '    o3.lines.get_or_create(sku="c")\n'
        '    for o in Order.objects.filter(ref="x"):\n'
        '        o.lines.get_or_create(sku="d")\n'
        "    lines = o3.lines.filter(sku='e')\n"
        "    lines.get_or_create()\n"
    )
    result = lint(tmp_path, [("shop/models.py", MODELS), ("shop/views.py", views)])
    found = [
        (f.line - BODY_LINE, f.extra["model"], f.extra["lookup"]) for f in only(result.findings)
    ]
    assert found == [
        (1, "shop.Line", ["order", "sku"]),
        (3, "shop.Line", ["order", "sku"]),
        (5, "shop.Line", ["order", "sku"]),
        (7, "shop.Line", ["order", "sku"]),
    ]


def test_self_and_cls_inside_model_classes(tmp_path: Path) -> None:
    result = lint(tmp_path, [("shop/models.py", MODELS)])
    found = [(f.line, f.extra["model"], f.extra["lookup"]) for f in result.findings]
    assert found == [(18, "shop.Order", ["customer", "ref"]), (29, "shop.Order", ["ref"])]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("m.Order.objects.get_or_create(pk=1)", id="pk"),
        pytest.param('Restaurant.objects.get_or_create(name="x")', id="parent-unique-field"),
        pytest.param("Restaurant.objects.get_or_create(id=1)", id="parent-pk"),
        pytest.param('User.objects.get_or_create(username="x")', id="contrib-unique"),
        pytest.param("Customer.objects.get_or_create(user_id=5)", id="one-to-one"),
        pytest.param('Order.objects.get_or_create(pk=1, ref__iexact="x")', id="covered-exact-part"),
    ],
)
def test_covered_calls_are_quiet(tmp_path: Path, body: str) -> None:
    result = lint(tmp_path, [("shop/models.py", MODELS), ("shop/views.py", _function(body))])
    assert only(result.findings) == []


@pytest.mark.parametrize(
    ("body", "why"),
    [
        pytest.param(
            "something.objects.get_or_create(a=1)",
            "the model of `something` is not known statically",
            id="unknown-name",
        ),
        pytest.param(
            "cache.get_or_create(key)", "`cache` is not a known model's manager", id="not-a-manager"
        ),
        pytest.param(
            "m.Missing.objects.get_or_create(a=1)",
            "`shop.models.Missing` is not a model that the migrations create",
            id="not-a-model",
        ),
        pytest.param(
            "order.nothing.get_or_create(a=1)",
            "`nothing` is not a related manager of Order",
            id="not-related",
        ),
    ],
)
def test_unresolved_calls_are_counted_not_judged(tmp_path: Path, body: str, why: str) -> None:
    params = "order: Order" if "order." in body else ""
    result = lint(
        tmp_path, [("shop/models.py", MODELS), ("shop/views.py", _function(body, params))]
    )
    assert only(result.findings) == []
    assert "1 on a model that could not be resolved" in result.notes[0]
    assert any(why in note and f"shop/views.py:{BODY_LINE}:" in note for note in result.notes)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        pytest.param("Order.objects.get_or_create(**kwargs)", "**kwargs", id="star-kwargs"),
        pytest.param(
            "Order.objects.active().get_or_create(ref=1)",
            "custom queryset method `.active()`",
            id="custom-queryset-method",
        ),
        pytest.param(
            "Order.objects.filter(q).get_or_create(ref=1)",
            "positional filter",
            id="positional-filter",
        ),
    ],
)
def test_lookups_not_known_statically_are_not_judged(tmp_path: Path, body: str, why: str) -> None:
    views = _function(body, "q=None, **kwargs")
    result = lint(tmp_path, [("shop/models.py", MODELS), ("shop/views.py", views)])
    assert only(result.findings) == []
    assert "1 with a lookup not known statically" in result.notes[0]
    assert any(why in note for note in result.notes)


MANAGERS = """\
from django.db import models


class OrderQuerySet(models.QuerySet):
    def get_or_create(self, defaults=None, **kwargs):
        return super().get_or_create(defaults, **kwargs)


class TagManager(models.Manager):
    def ensure(self, name):
        return self.get_or_create(name=name)
"""


def test_overriding_managers_and_manager_methods(tmp_path: Path) -> None:
    models = (
        MODELS.replace(
            "from django.db import models\n",
            "from django.db import models\n\nfrom shop.managers import OrderQuerySet, TagManager\n",
        )
        .replace(
            '    tags = models.ManyToManyField("Tag")\n',
            '    tags = models.ManyToManyField("Tag")\n    objects = OrderQuerySet.as_manager()\n',
        )
        .replace(
            "    name = models.CharField(max_length=10)\n",
            "    name = models.CharField(max_length=10)\n    objects = TagManager()\n",
        )
    )
    views = _function(
        'Order.objects.filter(ref="y").update_or_create(customer_id=1)\n'
        '    order.lines.get_or_create(sku="x")\n'
        '    order.tags.get_or_create(name="y")',
        "order: Order",
    )
    result = lint(
        tmp_path,
        [("shop/managers.py", MANAGERS), ("shop/models.py", models), ("shop/views.py", views)],
    )
    found = sorted((f.path, f.line, f.extra["model"]) for f in result.findings)
    assert found == [
        ("shop/managers.py", 11, "shop.Tag"),  # self in a manager method: the models using it
        ("shop/views.py", BODY_LINE + 1, "shop.Line"),
        ("shop/views.py", BODY_LINE + 2, "shop.Tag"),
    ]
    # Order's queryset overrides get_or_create (also reached by update_or_create, by
    # Customer.order_set and by cls.objects in Order): those calls are quiet, and counted.
    assert "3 through a manager that overrides the method" in result.notes[0]


def test_noqa_on_the_call_line(tmp_path: Path) -> None:
    views = _function(
        "Order.objects.get_or_create(ref=1)  # noqa: ML301\n"
        "    Order.objects.get_or_create(ref=2)  # noqa: ML3\n"
        "    Order.objects.get_or_create(ref=3)  # noqa: E501\n"
        "    Order.objects.get_or_create(ref=4)  # noqa"
    )
    result = lint(tmp_path, [("shop/models.py", MODELS), ("shop/views.py", views)])
    assert [f.line - BODY_LINE for f in only(result.findings)] == [2]


def test_a_noqa_that_suppresses_nothing_on_a_call_is_reported(tmp_path: Path) -> None:
    views = _function(
        "m.Place.objects.get_or_create(name=1)  # noqa: ML301\n"
        "    Order.objects.get_or_create(ref=2)  # noqa: ML301, ML302\n"
        "    Order.objects.get_or_create(ref=3)  # noqa\n"
        # ML903 listed keeps the unused ML302 quiet, as in a migration.
        "    Order.objects.get_or_create(ref=4)  # noqa: ML301, ML302, ML903"
    )
    files = [("shop/models.py", MODELS), ("shop/views.py", views)]
    result = lint(tmp_path, files, select=("ML3", "ML903"))
    found = [(f.line - BODY_LINE, f.code, f.message) for f in only(result.findings)]
    assert found == [
        # Place.name is unique: nothing to suppress.
        (0, "ML903", "`# noqa: ML301` suppresses nothing on this line"),
        # ML301 suppressed the finding; ML302 had nothing to suppress.
        (1, "ML903", "`# noqa: ML302` suppresses nothing on this line"),
    ]
    ml903 = next(f for f in result.findings if f.code == "ML903")
    assert ml903.column == views.splitlines()[BODY_LINE - 1].index("# noqa") + 1
    # Without ML903 selected nothing is said of the comments; a code of a rule that did not
    # run (ML301 here) is not judged.
    assert [f.code for f in only(lint(tmp_path, files).findings)] == []
    found = only(lint(tmp_path, files, select=("ML302", "ML903")).findings)
    assert [(f.line - BODY_LINE, f.message) for f in found] == [
        (1, "`# noqa: ML302` suppresses nothing on this line")
    ]


def test_exclude_and_app_labels(tmp_path: Path) -> None:
    views = _function("Order.objects.get_or_create(ref=1)")
    files = [("shop/models.py", MODELS), ("shop/views.py", views)]
    assert only(lint(tmp_path, files, exclude=("shop",)).findings) == []
    assert only(lint(tmp_path, files, exclude=("shop/views.py",)).findings) == []
    assert only(lint(tmp_path, files).findings) != []


# --- which files ---------------------------------------------------------------------------------


def test_files_without_method_names_are_never_parsed(tmp_path: Path) -> None:
    files = [
        ("shop/models.py", MODELS),
        ("shop/broken.py", "def broken(:\n    pass\n"),
        ("shop/broken_call.py", "def broken(:\n    Order.objects.get_or_create()\n"),
    ]
    result = lint(tmp_path, files)
    errors = [n for n in result.notes if "cannot parse" in n]
    assert len(errors) == 1 and "broken_call.py" in errors[0]


def test_walk_skips_venvs_hidden_site_packages_and_migrations(tmp_path: Path) -> None:
    call = "Order.objects.get_or_create(ref=1)\n"
    for relative in (
        "shop/views.py",
        ".hidden/x.py",
        "venv/lib/x.py",
        "env2/x.py",
        "lib/site-packages/x.py",
        "node_modules/x.py",
        "shop/migrations/0002_x.py",
    ):
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(call)
    (tmp_path / "env2" / "pyvenv.cfg").write_text("")
    files = [p.relative_to(tmp_path).as_posix() for p in application_files(tmp_path, ())]
    assert files == ["shop/views.py"]


def test_explicit_application_paths_limit_the_scan(tmp_path: Path) -> None:
    a = _function("Order.objects.get_or_create(ref=1)")
    files = [("shop/models.py", MODELS), ("shop/a.py", a), ("shop/b.py", a)]
    result = lint(tmp_path, files, "shop/a.py")
    assert sorted({f.path for f in result.findings}) == ["shop/a.py"]
    result = lint(tmp_path, files, "shop/migrations/0001_initial.py")
    assert sorted({f.path for f in result.findings}) == ["shop/a.py", "shop/b.py", "shop/models.py"]


TAG_SLUG = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.AddField("tag", "slug", models.SlugField(null=True))]
"""


def test_migration_paths_report_the_models_they_touch(tmp_path: Path) -> None:
    """pre-commit passes migration files: report the calls on the models they change."""
    views = _function(
        'Tag.objects.get_or_create(name="x")\n    Line.objects.get_or_create(sku="y")'
    )
    files = [("shop/views.py", views), ("shop/migrations/0002_tag_slug.py", TAG_SLUG)]
    result = lint(tmp_path, files, "shop/migrations/0002_tag_slug.py")
    assert [f.extra["model"] for f in only(result.findings)] == ["shop.Tag"]
    # No paths at all: the whole project.
    with chdir(tmp_path):
        everything = run(Options(source_only=True, use_cache=False, select=("ML3",)))
    assert [f.extra["model"] for f in only(everything.findings)] == ["shop.Tag", "shop.Line"]


def test_module_names_resolve_relative_imports(tmp_path: Path) -> None:
    source = b"from .models import Order\nfrom ..other.models import Thing\nOrder.objects.get_or_create(a=1)\nThing.objects.get_or_create(b=1)\n"
    scan = scan_source(tmp_path / "pkg" / "shop" / "views.py", "pkg.shop.views", source)
    refs = [call.target.model.qualname for call in scan.calls if call.target and call.target.model]
    assert refs == ["pkg.shop.models.Order", "pkg.other.models.Thing"]
    assert module_name(tmp_path / "a" / "__init__.py", tmp_path) == "a"
    assert module_name(tmp_path / "a" / "b.py", tmp_path) == "a.b"


# --- the scan's names, positions and text --------------------------------------------------------


def _scan(source: str, module: str = "shop.views", name: str = "views.py") -> FileScan:
    return scan_source(Path("/project", *module.split(".")[:-1], name), module, source.encode())


def _targets(scan: FileScan) -> list[str | None]:
    """Each call's model (qualified name, or app label and name), None when unresolved."""
    out: list[str | None] = []
    for call in scan.calls:
        model = call.target.model if call.target else None
        out.append(str(model) if model else None)
    return out


def test_relative_imports_in_a_package_init() -> None:
    """In ``__init__.py`` the module is the package: ``.`` is the package itself."""
    source = (
        "from . import models as m\n"
        "from .models import Order\n"
        "from ..other import Thing\n"
        "m.Order.objects.get_or_create(a=1)\n"
        "Order.objects.get_or_create(a=1)\n"
        "Thing.objects.get_or_create(a=1)\n"
    )
    scan = _scan(source, "pkg.shop", "__init__.py")
    assert _targets(scan) == ["pkg.shop.models.Order", "pkg.shop.models.Order", "pkg.other.Thing"]


def test_function_bindings_shadow_module_names() -> None:
    source = (
        "from shop.models import Line, Order\n"
        "def by_param(Order):\n"
        "    Order.objects.get_or_create(a=1)\n"
        "def by_assignment():\n"
        "    Order.objects.get_or_create(a=1)\n"  # local in all of the function
        "    Order = Line\n"
        "def by_loop(rows):\n"
        "    for Order in rows:\n"
        "        Order.objects.get_or_create(a=1)\n"
        "def untouched():\n"
        "    Order.objects.get_or_create(a=1)\n"
    )
    scan = _scan(source)
    assert _targets(scan) == [None, "shop.models.Line", None, "shop.models.Order"]
    assert scan.calls[0].unresolved == "the model of `Order` is not known statically"


def test_class_body_names_are_not_visible_to_methods() -> None:
    source = (
        "from django.db import models\n"
        "from shop.models import Line\n"
        "class Order(models.Model):\n"
        "    Line = None\n"
        "    objects = models.Manager()\n"
        "    def add(self):\n"
        "        Line.objects.get_or_create(a=1)\n"
        "    def ensure(self, line: Line):\n"  # annotations are read in the class body
        "        line.tags.get_or_create(a=1)\n"
    )
    scan = _scan(source)
    assert _targets(scan) == ["shop.models.Line", None]
    [info] = scan.classes
    assert (info.qualname, info.bases) == ("shop.views.Order", ("django.db.models.Model",))
    assert info.managers == (("objects", ("django.db.models.Manager",)),)


def test_enclosing_functions_comprehensions_globals_and_walrus() -> None:
    source = (
        "from shop.models import Line, Order\n"
        "def outer():\n"
        "    Model = Line\n"
        "    def inner():\n"
        "        Model.objects.get_or_create(a=1)\n"
        "        [o.lines.get_or_create(a=1) for o in Order.objects.all()]\n"
        "        if any((found := o) for o in Order.objects.all()):\n"  # binds in inner
        "            found.lines.get_or_create(a=1)\n"
        "def set_global():\n"
        "    global Chosen\n"
        "    Chosen = Order\n"
        "def use_global():\n"
        "    Chosen.objects.get_or_create(a=1)\n"
    )
    scan = _scan(source)
    assert _targets(scan) == ["shop.models.Line", *["shop.models.Order"] * 3]
    assert [call.target.path for call in scan.calls if call.target] == [
        (),
        ("lines",),
        ("lines",),
        (),
    ]


def test_a_class_named_after_its_import_subclasses_the_import() -> None:
    """A name's binding counts from the end of its statement on: in ``class User(User)`` the
    base is the import, and later uses see both (so they are not resolved)."""
    source = (
        "from django.contrib.auth.models import User\n"
        "class User(User):\n"
        "    pass\n"
        "User.objects.get_or_create(a=1)\n"
    )
    scan = _scan(source)
    [info] = scan.classes
    assert info.bases == ("django.contrib.auth.models.User",)
    assert _targets(scan) == [None]


def test_columns_count_characters_on_non_ascii_lines() -> None:
    line = 'x = "é"; Order.objects.get_or_create(a="日本")  # noqa: ML301'
    scan = _scan(f"from shop.models import Order\n{line}\n")
    [call] = scan.calls
    assert (call.line, call.column) == (2, line.index("Order") + 1)
    assert call.end_column == line.index("  #") + 1
    assert call.kwargs == (("a", LookupValue('"日本"', True, "日本")),)
    assert [(s.line, s.column, s.codes) for s in call.noqa] == [
        (2, line.index("#") + 1, ("ML301",))
    ]


def test_parenthesized_calls_keep_their_parentheses_in_the_text() -> None:
    """Positions are the call's own; its text has the parentheses around it (as libcst
    printed a node), and so do receivers and values."""
    source = (
        "from shop.models import Order\n"
        "def f():\n"
        "    obj = (  # why\n"
        "        (Order).objects.get_or_create(a=(1), b=[\n"
        "            2,\n"
        "        ])\n"
        "    )\n"
        "    print((Order.objects.get_or_create(c=3)))\n"
    )
    first, second = _scan(source).calls
    assert (first.line, first.column, first.end_line, first.end_column) == (4, 9, 6, 11)
    assert first.text == "(# why (Order).objects.get_or_create(a=(1), b=[ 2, ]))"
    assert first.receiver == "(Order).objects"
    assert first.target == Target(model=ModelRef("shop.models.Order"), manager="objects")
    # Lines continued inside brackets lose the block's indentation, as libcst printed them.
    assert first.kwargs == (
        ("a", LookupValue("(1)", True, 1)),
        ("b", LookupValue("[\n        2,\n    ]")),
    )
    # The call's own parentheses, not print's.
    assert (second.column, second.text) == (12, "(Order.objects.get_or_create(c=3))")


def test_nested_calls_are_listed_outer_first_and_syntax_errors_in_one_line() -> None:
    source = "Order.objects.get_or_create(a=Tag.objects.get_or_create(b=1)[0])\n"
    assert [call.receiver for call in _scan(source).calls] == ["Order.objects", "Tag.objects"]
    broken = _scan("def f(:\n    Order.objects.get_or_create()\n")
    assert (broken.calls, broken.error) == ((), "cannot parse: invalid syntax (line 1)")


def test_scan_speed_sanity(tmp_path: Path) -> None:
    """Not a benchmark (benchmarks/get_or_create_scan.py is): 1,000 files without calls are
    read and dismissed without a parse."""
    for n in range(1000):
        (tmp_path / f"m{n}.py").write_text("def f(x):\n    return x.filter(a=1)\n" * 50)
    start = time.perf_counter()
    scans, read = scan_files(application_files(tmp_path, ()), tmp_path)
    assert (read, scans) == (1000, [])
    assert time.perf_counter() - start < 30  # generous: only a parse of every file would fail it


# --- data migrations -----------------------------------------------------------------------------

TAG_CONSTRAINT = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0002_tags")]
    operations = [
        migrations.AddConstraint("tag", models.UniqueConstraint(fields=["name"], name="tag_name_uniq")),
    ]
"""

TAG_DATA = """\
from django.db import migrations


def forwards(apps, schema_editor):
    Tag = apps.get_model("shop.Tag")
    Tag.objects.get_or_create(name="sale")


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
"""


def test_data_migrations_are_judged_on_the_state_before_them(tmp_path: Path) -> None:
    views = _function('Tag.objects.get_or_create(name="x")')
    files = [
        ("shop/models.py", MODELS),
        ("shop/views.py", views),
        ("shop/migrations/0002_tags.py", TAG_DATA),
        ("shop/migrations/0003_tag_name_uniq.py", TAG_CONSTRAINT),
    ]
    result = lint(tmp_path, files, "shop/migrations/0002_tags.py")
    # The application code runs against the end state, where tag_name_uniq exists; the data
    # migration runs before 0003 creates it.
    found = [(f.path, f.line, f.migration) for f in result.findings if "models" not in f.path]
    assert found == [("shop/migrations/0002_tags.py", 6, "0002_tags")]
    assert any("when 0002_tags runs" in f.message for f in result.findings)


def test_noqa_in_a_data_migration_goes_through_the_suppress_stage(tmp_path: Path) -> None:
    data = TAG_DATA.replace('name="sale")', 'name="sale")  # noqa: ML301')
    files = [("shop/models.py", MODELS), ("shop/migrations/0002_tags.py", data)]
    result = lint(tmp_path, files, "shop/migrations/0002_tags.py", select=("ML",))
    assert [f.code for f in result.findings if f.path.endswith("0002_tags.py")] == []


# --- conditions, NULLs, databases ----------------------------------------------------------------


def _with_constraint(constraint: str) -> str:
    return INITIAL.replace(
        '        migrations.AddField("order", "tags"',
        f'        migrations.AddConstraint("order", {constraint}),\n        migrations.AddField("order", "tags"',
    )


@pytest.mark.parametrize(
    ("constraint", "call", "targets", "codes"),
    [
        pytest.param(
            'models.UniqueConstraint(fields=["ref"], condition=models.Q(note__isnull=True), name="u")',
            'ref="x", note=None',
            ("postgresql",),
            [],
            id="isnull-condition-implied",
        ),
        pytest.param(
            'models.UniqueConstraint(fields=["ref"], condition=models.Q(note__isnull=True), name="u")',
            'ref="x"',
            ("postgresql",),
            ["ML302"],
            id="isnull-condition-not-implied",
        ),
        pytest.param(
            'models.UniqueConstraint(fields=["ref"], condition=models.Q(note="a") | models.Q(note="b"), name="u")',
            'ref="x", note="a"',
            ("postgresql",),
            ["ML302"],
            id="or-condition-never-implied",
        ),
        pytest.param(
            'models.UniqueConstraint(fields=["ref", "note"], name="u")',
            'ref="x", note=None',
            ("postgresql",),
            ["ML302"],
            id="null-distinct",
        ),
        pytest.param(
            'models.UniqueConstraint(fields=["ref", "note"], nulls_distinct=False, name="u")',
            'ref="x", note=None',
            ("postgresql",),
            [],
            id="nulls-not-distinct-on-postgres",
        ),
        pytest.param(
            'models.UniqueConstraint(fields=["ref", "note"], nulls_distinct=False, name="u")',
            'ref="x", note=None',
            ("postgresql", "sqlite"),
            ["ML302"],
            id="nulls-not-distinct-not-on-sqlite",
        ),
        pytest.param(
            'models.UniqueConstraint(fields=["ref"], deferrable=models.Deferrable.DEFERRED, name="u")',
            'ref="x"',
            ("sqlite",),
            ["ML302"],
            id="deferrable-not-on-sqlite",
        ),
        pytest.param(
            'models.UniqueConstraint(fields=["ref"], opclasses=["varchar_pattern_ops"], name="u")',
            'ref="x"',
            ("mysql", "sqlite"),
            [],
            id="opclasses-everywhere",
        ),
        pytest.param(
            'models.UniqueConstraint(models.functions.Lower("ref"), name="u")',
            'ref="x"',
            ("postgresql",),
            ["ML301"],
            id="expressions-do-not-count",
        ),
    ],
)
def test_partly_covered(
    tmp_path: Path, constraint: str, call: str, targets: tuple[str, ...], codes: list[str]
) -> None:
    views = _function(f"Order.objects.get_or_create({call})")
    result = lint(
        tmp_path,
        [("shop/models.py", MODELS), ("shop/views.py", views)],
        initial=_with_constraint(constraint),
        vendors=tuple((t, None) for t in targets),
    )
    assert [f.code for f in only(result.findings)] == codes


def test_vendor_only_shortfall_names_the_target(tmp_path: Path) -> None:
    views = _function('Order.objects.get_or_create(ref="x")')
    result = lint(
        tmp_path,
        [("shop/views.py", views)],
        initial=_with_constraint(
            'models.UniqueConstraint(fields=["ref"], include=["note"], name="u")'
        ),
        vendors=(("postgresql", None), ("mysql", None)),
    )
    [finding] = only(result.findings)
    assert (finding.code, finding.target) == ("ML302", "mysql")
    assert "MySQL/MariaDB does not create it (include=)" in finding.message


# --- the fix plan --------------------------------------------------------------------------------


def test_fix_plan_numbers_follow_the_latest_migration(tmp_path: Path) -> None:
    views = _function("Line.objects.get_or_create(sku=1)")
    files = [("shop/views.py", views), ("shop/migrations/0002_tags.py", TAG_DATA)]
    result = lint(tmp_path, files, vendors=(("postgresql", None),))
    [finding] = only(result.findings)
    declare, dedupe, build = finding.fix
    assert 'name="shop_line_sku_uniq"' in declare.code
    assert dedupe.path == "shop/migrations/0003_remove_duplicate_line_sku.py"
    assert "dependencies = [('shop', '0002_tags')]" in dedupe.code
    assert build.path == "shop/migrations/0004_shop_line_sku_uniq.py"
    assert "dependencies = [('shop', '0003_remove_duplicate_line_sku')]" in build.code
    assert "CREATE UNIQUE INDEX CONCURRENTLY" in build.code
    assert '"shop_line_sku_uniq" ON "shop_line" ("sku")' in build.code
    assert "atomic = False" in build.code


def test_fix_plan_without_postgres_and_with_nulls(tmp_path: Path) -> None:
    views = _function('Order.objects.get_or_create(ref="x", note=None)')
    result = lint(tmp_path, [("shop/views.py", views)], vendors=(("sqlite", None),))
    [finding] = only(result.findings)
    declare, dedupe, then = finding.fix
    assert "nulls_distinct=False" in declare.code
    # NULLs conflict under that constraint, so the dedupe must group them too.
    assert "note__isnull=False" not in dedupe.code
    assert then.code == "python manage.py makemigrations shop"


def test_constraint_names_stay_within_postgres_limit(tmp_path: Path) -> None:
    from migration_lint.lookup_plans import constraint_name

    assert constraint_name("shop_order", ("customer", "ref")) == "shop_order_customer_ref_uniq"
    long = constraint_name("shop_" + "x" * 40, ("a_long_field_name", "another_long_field"))
    assert len(long) <= 63 and long.endswith("_uniq")


# --- project mode --------------------------------------------------------------------------------

CUSTOM_USER_INITIAL = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    operations = [
        migrations.CreateModel(
            "Member",
            [
                ("id", models.BigAutoField(primary_key=True)),
                ("password", models.CharField(max_length=128)),
                ("last_login", models.DateTimeField(null=True)),
                ("handle", models.CharField(max_length=30)),
                ("email", models.EmailField(max_length=254, unique=True)),
            ],
            options={"abstract": False},
        ),
    ]
"""

CUSTOM_USER_MODELS = """\
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import models


class Member(AbstractBaseUser):
    handle = models.CharField(max_length=30)
    email = models.EmailField(unique=True)
    USERNAME_FIELD = "email"

    class Meta:
        unique_together = [("handle",)]
"""

CUSTOM_USER_VIEWS = """\
from django.conf import settings
from django.contrib.auth import get_user_model


def join(apps, email, handle):
    get_user_model().objects.get_or_create(email=email)
    get_user_model().objects.get_or_create(handle=handle)
    apps.get_model(settings.AUTH_USER_MODEL).objects.get_or_create(password="x")
"""


def test_project_mode_swappable_user_and_declared_constraints(tmp_path: Path) -> None:
    settings = (
        'SECRET_KEY = "x"\n'
        'DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"\n'
        'INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "members"]\n'
        'AUTH_USER_MODEL = "members.Member"\n'
        'DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "x"}}\n'
    )
    files = [
        (
            "manage.py",
            'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")\n',
        ),
        ("proj/__init__.py", ""),
        ("proj/settings.py", settings),
        ("members/__init__.py", ""),
        ("members/migrations/__init__.py", ""),
        ("members/models.py", CUSTOM_USER_MODELS),
        ("members/views.py", CUSTOM_USER_VIEWS),
        ("members/migrations/0001_initial.py", CUSTOM_USER_INITIAL),
    ]
    findings = [f for f in lint_project(tmp_path, files) if f.code.startswith("ML3")]
    found = [(f.code, f.line, f.extra["model"], f.extra["lookup"]) for f in findings]
    assert found == [
        # unique_together (handle,) is in models.py only
        ("ML303", 7, "members.Member", ["handle"]),
        ("ML301", 8, "members.Member", ["password"]),
    ]
    assert "unique_together (handle)" in findings[0].message
