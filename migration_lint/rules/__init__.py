"""The rules. Every module in this package is imported by :func:`load_all`, and every
:class:`~migration_lint.rules.base.Rule` subclass it defines registers itself: adding a rule is
writing one module."""

from __future__ import annotations

import importlib
import pkgutil

_loaded = False


def load_all() -> None:
    global _loaded
    if _loaded:
        return
    for info in pkgutil.iter_modules(__path__):
        if info.name != "base":
            importlib.import_module(f"{__name__}.{info.name}")
    _loaded = True
