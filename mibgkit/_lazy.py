"""Lazy package attributes: names resolved from their module on first use.

Keeps ``import mibgkit`` (and ``mibgkit --help``) fast: heavy modules (pydicom,
scikit-image, highdicom, ...) load only when a name that needs them is used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import Any


def lazy_getattr(
    package: str, table: dict[str, str], subpackages: Iterable[str] = ()
) -> Callable[[str], Any]:
    """A module-level ``__getattr__`` for ``package``.

    Parameters
    ----------
    package : str
        Dotted name of the package (for the error message and subpackage imports).
    table : dict of str to str
        Attribute name -> dotted name of the module that defines it.
    subpackages : iterable of str
        Subpackage names returned as modules on attribute access.

    Returns
    -------
    callable
        ``__getattr__(name)`` raising AttributeError for unknown names.
    """
    subs = frozenset(subpackages)

    def __getattr__(name: str) -> Any:
        if name in table:
            return getattr(importlib.import_module(table[name]), name)
        if name in subs:
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
