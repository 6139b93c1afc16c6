"""Ask another Python interpreter, in a subprocess, what it has installed: nothing is imported here.

Used only for an interpreter the user names whose files cannot answer (``audit.sitepackages``
reads venvs without running anything). It must be owned by the invoking user or root, in a
folder no one else can write, with no ``._pth`` file beside it (a ``._pth`` file turns ``site``
back on despite ``-S``). It runs a small stdlib-only script in isolated mode and without
``site`` (``-I -S``), so neither the environment variables nor the ``.pth`` files of the install
run any code; the script finds site-packages the way ``site`` would and reads distribution
metadata from files.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from audit.errors import InputError
from audit.trust import distrust

__all__ = ["InterpreterFacts", "TorchBuild", "query_interpreter"]

MAX_OUTPUT = 16 * 1024 * 1024
"""Bytes of output read from an interpreter; an answer larger than this is refused."""
_POLL_S = 0.05
_PYTHON_VERSION = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\S*", re.ASCII)
_VENV_PYTHONS = (Path("bin", "python"), Path("Scripts", "python.exe"))

# Runs inside the other interpreter: stdlib only, and syntax that old Pythons can still parse,
# so that they fail with a clear message instead of a SyntaxError.
_SCRIPT = r"""
import json, os, platform, re, site, sys, warnings
warnings.simplefilter("ignore")
try:
    import importlib.metadata as metadata
except ImportError:
    sys.exit("Python %s has no importlib.metadata (3.8 or newer is needed)"
             % platform.python_version())


def prefixes():
    # What site.venv() decides, without its side effects (it runs .pth files).
    exe_dir = os.path.dirname(os.path.abspath(sys.executable))
    venv = os.path.dirname(exe_dir)
    for conf in (os.path.join(exe_dir, "pyvenv.cfg"), os.path.join(venv, "pyvenv.cfg")):
        if os.path.isfile(conf):
            system = "true"
            with open(conf, encoding="utf-8", errors="replace") as f:
                for line in f:
                    key, eq, value = line.partition("=")
                    if eq and key.strip().lower() == "include-system-site-packages":
                        system = value.strip().lower()
            return [venv, sys.prefix] if system == "true" else [venv]
    return [sys.prefix]


def pth_dirs(sitedir, name):
    # The folders a .pth file adds; its "import" lines are code, and are not run.
    found = []
    try:
        with open(os.path.join(sitedir, name), encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith(("#", "import ", "import\t")) or not line.strip():
                    continue
                path = os.path.join(sitedir, line.rstrip())
                if os.path.isdir(path):
                    found.append(path)
    except OSError:
        pass
    return found


def site_dirs():
    if not sys.flags.no_site:
        return []  # site ran anyway (a ._pth file asked for it): sys.path is complete
    dirs = []
    for sitedir in site.getsitepackages(prefixes()):
        if os.path.isdir(sitedir):
            dirs.append(sitedir)  # then the folders of its .pth files, as site.addsitedir does
            for name in sorted(os.listdir(sitedir)):
                if name.endswith(".pth") and not name.startswith("."):
                    dirs.extend(pth_dirs(sitedir, name))
    return dirs


def main():
    path = list(sys.path)
    path.extend(d for d in site_dirs() if d not in path)
    seen, dists, torch = set(), {}, None
    for dist in metadata.distributions(path=path):
        try:
            name, version = dist.metadata["Name"].strip(), dist.version.strip()
        except Exception:
            continue  # a broken distribution: no METADATA, no Name or no Version
        key = re.sub(r"[-_.]+", "-", name).lower()
        if not name or not version or key in seen:
            continue  # the first on the path is the one that imports
        seen.add(key)
        dists[name] = version
        if key == "torch":
            try:
                requires = list(dist.requires or [])
            except Exception:
                requires = []
            torch = {"version": version, "requires": requires}
    answer = {"python_version": platform.python_version(), "distributions": dists, "torch": torch}
    sys.stdout.write(json.dumps(answer))


main()
"""


@dataclass(frozen=True)
class TorchBuild:
    """Represents the torch distribution installed in an interpreter, as its metadata says."""

    version: str
    """The version as installed, local segment included (``2.7.1+cu126``)."""
    requires: tuple[str, ...]
    """Its ``Requires-Dist`` lines, as written."""


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
    with tempfile.TemporaryDirectory(prefix="comfy-audit-", ignore_cleanup_errors=True) as tmp:
        # NOTE: an empty working folder, so that nothing local shadows the stdlib.
        work = Path(tmp, "cwd")
        work.mkdir()
        with Path(tmp, "stdout").open("w+b") as out, Path(tmp, "stderr").open("w+b") as err:
            returncode = _run([str(exe), "-I", "-S", "-c", _SCRIPT], work, out, err, timeout)
            if returncode != 0:
                raise InputError(f"{exe}: {_failure(returncode, err)}")
            out.seek(0)
            return _parse(out.read(MAX_OUTPUT + 1), str(exe))


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


def _run(argv: list[str], cwd: Path, out: IO[bytes], err: IO[bytes], timeout: float) -> int:
    """Run ``argv`` with its output in files, killing it on timeout or when it says too much."""
    try:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=os.name == "posix",
        )
    except OSError as e:
        raise InputError(f"{argv[0]}: cannot run it: {e.strerror or e}") from e
    deadline = time.monotonic() + timeout
    while True:
        try:
            return process.wait(timeout=max(0.0, min(_POLL_S, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            pass
        if max(os.fstat(out.fileno()).st_size, os.fstat(err.fileno()).st_size) > MAX_OUTPUT:
            _kill(process)
            raise InputError(f"{argv[0]}: answered more than {MAX_OUTPUT} bytes")
        if time.monotonic() >= deadline:
            _kill(process)
            raise InputError(f"{argv[0]}: did not answer within {timeout:g} s")


def _kill(process: subprocess.Popen[bytes]) -> None:
    # NOTE: the whole session we started, so that a wrapper script's children die with it.
    try:
        if os.name == "posix":
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
    except OSError:
        pass  # it ended in the meantime
    process.wait()


def _failure(returncode: int, err: IO[bytes]) -> str:
    if returncode < 0:
        return f"was killed by signal {-returncode}"
    size = err.seek(0, os.SEEK_END)
    err.seek(max(0, size - 4096))
    lines = err.read().decode("utf-8", "replace").splitlines()
    last = next((line.strip() for line in reversed(lines) if line.strip()), "")
    return f"exited with status {returncode}" + (f": {last[:200]}" if last else "")


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
