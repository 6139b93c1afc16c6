"""Load a package's names on first use (PEP 562), so that ``--help`` loads no stage it does not
run: a package's ``__init__`` says where each name lives, and this module imports it when asked.
`without` keeps a library that is of no use to a stretch of code from being loaded by another;
`preload` loads one while the run waits on other things."""

from __future__ import annotations

import contextlib
import importlib
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importlib.machinery import ModuleSpec
    from types import ModuleType

__all__ = ["attributes", "finish_preloads", "preload", "without"]

#: The threads `preload` started, until `finish_preloads` waits for them.
_PRELOADING: list[threading.Thread] = []


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


@contextmanager
def without(package: str) -> Iterator[None]:
    """Within the block, importing ``package`` (or a module of it) fails as if it were not
    installed, unless it is loaded already; after it, ``package`` imports as usual.

    NOTE: pyarrow imports pandas (0.2 s) the first time it converts Python objects, only to
    recognise pandas objects among them; code that hands it none runs within ``without("pandas")``.

    >>> with without("json"), without("this_is_no_package"):
    ...     import json  # loaded already, so still there
    ...     import this_is_no_package
    Traceback (most recent call last):
    ModuleNotFoundError: this_is_no_package is not loaded here
    """
    if package in sys.modules:
        yield
        return
    finder = _Refusing(package)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


class _Refusing:
    """A meta path finder that refuses one package and leaves every other to the next finder."""

    def __init__(self, package: str) -> None:
        self._package = package

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname == self._package or fullname.startswith(self._package + "."):
            raise ModuleNotFoundError(f"{fullname} is not loaded here", name=fullname)
        return None


def preload(module: str) -> threading.Thread:
    """Start importing ``module`` in a thread of its own and return that thread.

    The import then overlaps the waits of the run (answers over the network, the disk) instead
    of adding to its time; a later ``import`` of ``module`` waits for this one to finish, or
    fails as it would have (a failed import leaves nothing behind). The thread is no daemon,
    so a run that ends early waits for it rather than stop the interpreter in mid-import.
    """
    thread = threading.Thread(target=_import_quietly, args=(module,), name=f"preload {module}")
    thread.start()
    _PRELOADING.append(thread)
    return thread


def finish_preloads() -> None:
    """Wait until every import `preload` started has finished."""
    while _PRELOADING:
        _PRELOADING.pop().join()


def _import_quietly(module: str) -> None:
    # NOTE: the import where the module is used reports the error.
    with contextlib.suppress(ImportError):
        importlib.import_module(module)
