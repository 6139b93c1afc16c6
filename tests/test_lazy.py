"""Tests of the import helpers: first-use attributes, `without` and `preload`."""

from __future__ import annotations

import sys

import pytest

from audit import lazy
from tests.fresh import python_lines


def test_without_refuses_the_package_and_only_within_the_block() -> None:
    assert python_lines(
        "import sys",
        "from audit.lazy import without",
        "finders = len(sys.meta_path)",
        "with without('csv'):",
        "    try:",
        "        import csv",
        "    except ModuleNotFoundError as error:",
        "        print(error.name, 'csv' in sys.modules)",
        "import csv",
        "print(csv.__name__, len(sys.meta_path) == finders)",
    ) == ["csv False", "csv True"]


def test_without_lets_pyarrow_build_tables_without_pandas() -> None:
    assert python_lines(
        "import sys",
        "import pyarrow as pa",
        "from audit.lazy import without",
        "with without('pandas'):",
        "    table = pa.table({'a': [1, None], 'b': [['x'], []]})",
        "print(table.to_pylist(), 'pandas' in sys.modules)",
        "print(type(table.to_pandas()).__name__)",
    ) == ["[{'a': 1, 'b': ['x']}, {'a': None, 'b': []}] False", "DataFrame"]


def test_without_leaves_a_package_loaded_already_alone() -> None:
    with lazy.without("json"):
        import json

        assert json.loads("[1]") == [1]


def test_preload_imports_in_a_thread_of_its_own() -> None:
    assert python_lines(
        "import sys, threading",
        "from audit.lazy import preload",
        "thread = preload('audit.versions')",
        "print(thread is not threading.current_thread())",
        "thread.join()",
        "print('audit.versions' in sys.modules)",
    ) == ["True", "True"]


def test_a_failed_preload_fails_the_import_where_the_module_is_used() -> None:
    lazy.preload("audit.no_such_module").join()
    with pytest.raises(ModuleNotFoundError):
        __import__("audit.no_such_module")


def test_without_lets_every_other_module_load() -> None:
    sys.modules.pop("tabnanny", None)
    with lazy.without("no_such_package"):
        import tabnanny

    assert tabnanny.__name__ == "tabnanny"


def test_finish_preloads_waits_for_every_preload() -> None:
    assert python_lines(
        "import sys, threading",
        "from audit.lazy import finish_preloads, preload",
        "threads = [preload('audit.versions'), preload('audit.catalogue')]",
        "finish_preloads()",
        "print([t.is_alive() for t in threads], threading.active_count())",
        "print('audit.versions' in sys.modules, 'audit.catalogue' in sys.modules)",
    ) == ["[False, False] 1", "True True"]
