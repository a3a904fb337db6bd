#!/usr/bin/env python
"""How long the ML3xx application-code scan takes on a project of N Python files.

    python benchmarks/get_or_create_scan.py [--files 5000] [--with-calls 25] [--repeat 3] [--out DIR]

Generates a deterministic project (one app per 100 files, a models.py per app, views, services,
serializers and tests of a few kilobytes each), of which ``--with-calls`` files call
``get_or_create`` / ``update_or_create``; then times, best of ``--repeat``:

- listing the candidate files (``appcode.application_files``),
- reading every file and parsing only those that mention a method name (``appcode.scan_files``),
- the whole lint run restricted to ML3xx (``--select ML3 --source-only``): scan, migration
  history replay, resolution and judging.

The target (issue 6) is the scan of 5,000 files in under 2 s. Files without a method name are
never parsed; scanning them all anyway is shown for comparison (``--parse-all``).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from migration_lint import appcode
from migration_lint.lint import Options, run

_FILLER_FUNCTION = '''

def {name}(request, pk, *args, **kwargs):
    """Return the {noun} page for ``pk``; {words}."""
    queryset = {model}.objects.filter(pk=pk).select_related("owner").order_by("-created")
    items = [item for item in queryset if item.is_visible(request.user)]
    context = {{"items": items, "count": len(items), "title": "{noun}".title()}}
    for index, item in enumerate(items):
        context[f"item_{{index}}"] = item.summary(max_length={length})
    return render(request, "{app}/{name}.html", context)
'''

_WORDS = [
    "order",
    "invoice",
    "payment",
    "customer",
    "product",
    "shipment",
    "ticket",
    "report",
    "page",
    "post",
]


def _models(app: str, model: str) -> str:
    return f"""from django.db import models


class {model}(models.Model):
    name = models.CharField(max_length=100)
    code = models.CharField(max_length=20)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.name
"""


def _migration(app: str, model: str) -> str:
    return f'''from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    operations = [
        migrations.CreateModel(
            name="{model}",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("name", models.CharField(max_length=100)),
                ("code", models.CharField(max_length=20, unique=True)),
                ("created", models.DateTimeField(auto_now_add=True)),
            ],
        ),
    ]
'''


def _module(rng: random.Random, app: str, model: str, with_call: bool) -> str:
    lines = [
        "from django.shortcuts import render\n",
        f"from {app}.models import {model}\n",
    ]
    for n in range(rng.randint(4, 9)):
        lines.append(
            _FILLER_FUNCTION.format(
                name=f"view_{n}",
                noun=rng.choice(_WORDS),
                words=" ".join(rng.choices(_WORDS, k=8)),
                model=model,
                app=app,
                length=rng.randint(40, 200),
            )
        )
    if with_call:
        lines.append(
            f"\n\ndef ensure(name, code):\n"
            f"    obj, _ = {model}.objects.get_or_create(name=name)\n"
            f"    {model}.objects.update_or_create(code=code, defaults={{'name': name}})\n"
            f"    return obj\n"
        )
    return "".join(lines)


def generate(root: Path, files: int, with_calls: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    (root / "pyproject.toml").write_text("")
    apps = max(1, files // 100)
    calls = set(rng.sample(range(files), min(with_calls, files)))
    written = 0
    for a in range(apps):
        app, model = f"app{a:03d}", f"Thing{a:03d}"
        package = root / app
        (package / "migrations").mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "migrations" / "__init__.py").write_text("")
        (package / "migrations" / "0001_initial.py").write_text(_migration(app, model))
        (package / "models.py").write_text(_models(app, model))
        written += 2
        per_app = files // apps - 2
        for n in range(per_app):
            kind = ("views", "services", "serializers", "tests")[n % 4]
            path = package / f"{kind}_{n:03d}.py"
            path.write_text(_module(rng, app, model, written in calls))
            written += 1


CPU: dict[str, float] = {}
T = TypeVar("T")


def best(repeat: int, fn: Callable[[], T], label: str = "") -> tuple[float, T]:
    """Best wall time of ``repeat`` runs (and, in ``CPU[label]``, the CPU time of that run)."""
    times = []
    for _ in range(max(1, repeat)):
        start, cpu = time.perf_counter(), time.process_time()
        result = fn()
        times.append((time.perf_counter() - start, time.process_time() - cpu))
    wall, used = min(times)
    CPU[label] = used
    return wall, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--with-calls", type=int, default=25)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--parse-all", action="store_true", help="also time the scan of every file")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        root = args.out or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        generate(root, args.files, args.with_calls)
        total = sum(1 for _ in root.rglob("*.py"))
        size = sum(p.stat().st_size for p in root.rglob("*.py"))
        print(f"project: {total} Python files ({size / 1e6:.1f} MB) under {root}")

        if hasattr(os, "getloadavg"):
            print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        listed_s, listed = best(args.repeat, lambda: appcode.application_files(root, ()), "list")
        files = listed
        scan_s, result = best(args.repeat, lambda: appcode.scan_files(files, root), "scan")
        scans, read = result
        calls = sum(len(s.calls) for s in scans)
        print(
            f"list candidate files:  {listed_s:.3f} s wall, {CPU['list']:.3f} s CPU "
            f"({len(files)} application files)"
        )
        print(
            f"read + filter + parse: {scan_s:.3f} s wall, {CPU['scan']:.3f} s CPU "
            f"({read} read, {len(scans)} parsed, {calls} calls)"
        )
        print(
            f"scan total:            {listed_s + scan_s:.3f} s wall, "
            f"{CPU['list'] + CPU['scan']:.3f} s CPU (target < 2 s)"
        )

        cwd = os.getcwd()
        os.chdir(root)
        try:
            options = Options(select=("ML3",), source_only=True, use_cache=False)
            lint_s, lint = best(args.repeat, lambda: run(options), "lint")
        finally:
            os.chdir(cwd)
        print(
            f"whole lint run, ML3xx only: {lint_s:.3f} s wall, {CPU['lint']:.3f} s CPU "
            f"({len(lint.findings)} findings)"
        )

        if args.parse_all:

            def parse_all() -> int:
                for path in files:
                    module = appcode.module_name(path, root)
                    appcode.scan_source(path, module, path.read_bytes())
                return len(files)

            all_s, _ = best(1, parse_all)
            print(f"for comparison, the scan (parse and scopes) of every file: {all_s:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
