"""Each app's rows of the permission matrix, one module per app, merged by
``tests/test_permission_matrix.py``. A module defines any of ``RULES``, ``OUTSIDE``,
``API_RULES``, ``API_OUTSIDE`` and ``API_NAMES`` (the ninja operation names it adds)."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any


def _modules() -> list[Any]:
    return [importlib.import_module(f"{__name__}.{info.name}") for info in pkgutil.iter_modules(__path__)]


def _merged(attr: str) -> dict[Any, Any]:
    merged: dict[Any, Any] = {}
    for module in _modules():
        rows = getattr(module, attr, {})
        clash = merged.keys() & rows.keys()
        if clash:
            raise AssertionError(f"{module.__name__} repeats matrix rows: {sorted(map(str, clash))}")
        merged.update(rows)
    return merged


def extra_rules() -> dict[str, Any]:
    return _merged("RULES")


def extra_outside() -> dict[str, Any]:
    return _merged("OUTSIDE")


def extra_api_rules() -> dict[Any, Any]:
    return _merged("API_RULES")


def extra_api_outside() -> dict[Any, Any]:
    return _merged("API_OUTSIDE")


def extra_api_names() -> set[str]:
    names: set[str] = set()
    for module in _modules():
        names |= {name if name.startswith("api:") else f"api:{name}" for name in getattr(module, "API_NAMES", ())}
    return names
