"""Load a package's names on first use (PEP 562), so that ``--help`` loads no stage it does not
run: a package's ``__init__`` says where each name lives, and this module imports it when asked."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping

__all__ = ["attributes"]


def attributes(
    package: str, homes: Mapping[str, str], namespace: MutableMapping[str, object]
) -> Callable[[str], object]:
    """Return a module ``__getattr__`` for ``package`` that imports each name from its home in
    ``homes`` on first use and keeps it in ``namespace`` (the package's ``globals()``).

    >>> getter = attributes("pkg", {"sqrt": "math"}, {})
    >>> getter("sqrt")(4.0)
    2.0
    """

    def load(name: str) -> object:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        namespace[name] = value
        return value

    return load
