"""Ask another Python interpreter, in a subprocess, what it has installed: nothing is imported here.

Used only for an interpreter the user names whose files cannot answer
(``audit.environment.sitepackages`` reads venvs without running anything). It must be owned by
the invoking user or root, in a folder no one else can write, with no ``._pth`` file beside it
(a ``._pth`` file turns ``site`` back on despite ``-S``). It runs a small stdlib-only script in
isolated mode and without ``site`` (``-I -S``), so neither the environment variables nor the
``.pth`` files of the install run any code; the script finds site-packages the way ``site``
would and reads distribution metadata from files.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from audit.environment.interpreter_script import SCRIPT
from audit.environment.process import run_captured
from audit.environment.torchbuild import TorchBuild
from audit.errors import InputError
from audit.trust import distrust

__all__ = ["MAX_OUTPUT", "InterpreterFacts", "query_interpreter"]

MAX_OUTPUT = 16 * 1024 * 1024
"""Bytes of output read from an interpreter; an answer larger than this is refused."""
_PYTHON_VERSION = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\S*", re.ASCII)
_VENV_PYTHONS = (Path("bin", "python"), Path("Scripts", "python.exe"))


@dataclass(frozen=True)
class InterpreterFacts:
    """Represents what one Python interpreter reported about itself."""

    executable: str
    """The absolute path that was run (symlinks kept: a venv's python is a link)."""
    python_version: str
    distributions: Mapping[str, str]
    """Every installed distribution: metadata ``Name`` as written → ``Version``."""
    torch: TorchBuild | None


def _venv_python(venv: Path) -> Path | None:
    return next((venv / p for p in _VENV_PYTHONS if (venv / p).is_file()), None)


def query_interpreter(executable: str | Path, *, timeout: float = 30.0) -> InterpreterFacts:
    """Run ``executable`` in a subprocess and return what it has installed.

    :param executable: a Python interpreter, a virtual environment's folder, or a command on PATH.
    :param timeout: seconds the interpreter has to answer before it is killed.
    :raises InputError: naming the executable, if it cannot be run or does not answer.
    """
    exe = _locate(executable)
    argv = [str(exe), "-I", "-S", "-c", SCRIPT]
    return _parse(run_captured(argv, timeout=timeout, max_output=MAX_OUTPUT), str(exe))


def _locate(executable: str | Path) -> Path:
    text = os.fspath(executable)
    path = Path(text)
    if not text.strip():
        raise InputError("the Python interpreter path is empty")
    if path.name == text and not path.exists():
        on_path = shutil.which(text)
        if on_path is None:
            raise InputError(f"{text}: no such file, and no such command on PATH")
        path = Path(on_path)
    path = path.absolute()
    if path.is_dir():
        inner = _venv_python(path)
        if inner is None:
            raise InputError(f"{path}: a folder that is not a virtual environment")
        path = inner
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if os.name == "posix" and not os.access(path, os.X_OK):
        raise InputError(f"{path}: not executable")
    _refuse_untrusted(path)
    return path


def _refuse_untrusted(path: Path) -> None:
    """Refuse an interpreter another user could have planted, or one that would run ``site``."""
    problem = distrust(path, folder_too=True)
    if problem is not None:
        raise InputError(f"{path}: not run: {problem}")
    for folder in dict.fromkeys((path.parent, path.resolve().parent)):
        pth = next((n for n in _names(folder) if n.endswith("._pth")), None)
        if pth is not None:
            raise InputError(f"{path}: not run: {folder / pth} would turn site and .pth code on")


def _names(folder: Path) -> list[str]:
    try:
        return sorted(os.listdir(folder))
    except OSError:
        return []


def _parse(raw: bytes, exe: str) -> InterpreterFacts:
    garbage = InputError(f"{exe}: did not answer as a Python interpreter")
    if len(raw) > MAX_OUTPUT:
        raise InputError(f"{exe}: answered more than {MAX_OUTPUT} bytes")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise garbage from None
    if not isinstance(data, dict):
        raise garbage
    version, dists, torch = data.get("python_version"), data.get("distributions"), data.get("torch")
    if not (isinstance(version, str) and _PYTHON_VERSION.fullmatch(version)):
        raise garbage
    if not (isinstance(dists, dict) and all(isinstance(v, str) for v in dists.values())):
        raise garbage
    build = _torch_build(torch)
    if build is None and torch is not None:
        raise garbage
    return InterpreterFacts(exe, version, dict(dists), build)


def _torch_build(data: object) -> TorchBuild | None:
    if not isinstance(data, dict):
        return None
    version, requires = data.get("version"), data.get("requires")
    if not (isinstance(version, str) and isinstance(requires, list)):
        return None
    if not all(isinstance(line, str) for line in requires):
        return None
    return TorchBuild(version, tuple(requires))
