"""Tests for audit.environment.interpreter: real interpreters in real (pip-less) venvs."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.utils import canonicalize_name

from audit.environment import interpreter
from audit.environment.interpreter import InterpreterFacts, query_interpreter
from audit.environment.torchbuild import TorchBuild
from audit.errors import InputError
from tests.hostile import NOBODY, needs_root

POSIX = pytest.mark.skipif(os.name != "posix", reason="shebang scripts and exec bits")
VENV_PYTHON = Path("Scripts", "python.exe") if os.name == "nt" else Path("bin", "python")
CUDA_TORCH_REQUIRES = (
    "filelock",
    "typing-extensions>=4.10.0",
    'nvidia-cuda-runtime-cu12==12.6.77; platform_system == "Linux"',
    'nvidia-cudnn-cu12==9.5.1.17; platform_system == "Linux"',
    'opt-einsum>=3.3; extra == "opt-einsum"',
)


def make_venv(path: Path) -> Path:
    """Create a virtual environment without pip at ``path``: it has no distribution at all."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    return path


def clone_venv(venv: Path, path: Path) -> Path:
    """Copy ``venv`` to ``path``; a venv finds its site-packages next to its executable."""
    shutil.copytree(venv, path, symlinks=True)
    return path


def site_packages(venv: Path) -> Path:
    return next(p for p in (*venv.glob("lib/python*/site-packages"), venv / "Lib/site-packages"))


def write_dist(
    where: Path,
    name: str,
    version: str | None,
    requires: Iterable[str] = (),
    *,
    metadata: bool = True,
) -> None:
    """Write the ``.dist-info`` folder of ``name`` as an installer would."""
    folder = where / f"{name.replace('-', '_')}-{version or 'broken'}.dist-info"
    folder.mkdir(parents=True)
    if not metadata:
        return
    lines = ["Metadata-Version: 2.1", f"Name: {name}"]
    lines += [f"Version: {version}"] if version else []
    lines += [f"Requires-Dist: {line}" for line in requires]
    (folder / "METADATA").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def base_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_venv(tmp_path_factory.mktemp("base") / "venv")


@pytest.fixture(scope="module")
def venv(base_venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv whose site-packages hold the distributions of a typical ComfyUI install, and traps."""
    path = clone_venv(base_venv, tmp_path_factory.mktemp("filled") / "venv")
    site = site_packages(path)
    write_dist(site, "torch", "2.7.1+cu126", CUDA_TORCH_REQUIRES)
    write_dist(site, "comfyui-frontend-package", "1.32.10")
    write_dist(site, "Pillow", "11.0.0")
    write_dist(site, "no-version", None)
    write_dist(site, "no-metadata", "1.0", metadata=False)
    # A .pth file adds a folder, which holds an older Pillow (shadowed) and one more package.
    extra = path / "extra"
    write_dist(extra, "pillow", "9.0.0")
    write_dist(extra, "comfyui-lite-frontend", "1.0.0")
    trap = path / "trap-ran"
    (site / "extra.pth").write_text(
        f"# comment\n{extra}\nimport pathlib; pathlib.Path({str(trap)!r}).write_text('pth')\n"
    )
    (site / "torch").mkdir()
    (site / "torch" / "__init__.py").write_text(
        f"import pathlib; pathlib.Path({str(trap)!r}).write_text('torch')\n"
    )
    return path


def test_reads_every_distribution_without_running_install_code(venv: Path) -> None:
    facts = query_interpreter(venv / VENV_PYTHON)
    assert facts == InterpreterFacts(
        executable=str(venv / VENV_PYTHON),
        python_version=platform.python_version(),
        distributions={
            "torch": "2.7.1+cu126",
            "comfyui-frontend-package": "1.32.10",
            "Pillow": "11.0.0",
            "comfyui-lite-frontend": "1.0.0",
        },
        torch=TorchBuild("2.7.1+cu126", CUDA_TORCH_REQUIRES),
    )
    assert not (venv / "trap-ran").exists()


def test_venv_folder_command_on_path_and_relative_path(
    venv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = query_interpreter(venv / VENV_PYTHON)
    assert query_interpreter(venv) == expected
    monkeypatch.setenv("PATH", str((venv / VENV_PYTHON).parent))
    assert query_interpreter(VENV_PYTHON.name) == expected
    monkeypatch.chdir(venv)
    assert query_interpreter(VENV_PYTHON) == expected


@POSIX
def test_a_venv_with_system_site_packages_sees_both(venv: Path, tmp_path: Path) -> None:
    system = clone_venv(venv, tmp_path / "system")
    config = system / "pyvenv.cfg"
    config.write_text(
        config.read_text().replace(
            "include-system-site-packages = false", "include-system-site-packages = true"
        )
    )
    alone = query_interpreter(venv / VENV_PYTHON).distributions
    base = query_interpreter(Path(sys.base_prefix, "bin", "python3")).distributions
    expected = dict(alone)
    seen = {canonicalize_name(name) for name in alone}
    expected |= {name: v for name, v in base.items() if canonicalize_name(name) not in seen}
    both = query_interpreter(system / VENV_PYTHON).distributions
    assert list(both.items()) == list(expected.items())


# Interpreters a co-tenant could plant or subvert are never run.


def _planted(folder: Path) -> Path:
    """A script posing as python that leaves a mark when it runs."""
    folder.mkdir(parents=True, exist_ok=True)
    fake = folder / "python"
    fake.write_text(_script(f"open({str(folder / 'RAN')!r}, 'w').close()"))
    fake.chmod(0o755)
    return fake


@POSIX
@needs_root
def test_an_interpreter_owned_by_another_user_is_not_run(tmp_path: Path) -> None:
    fake = _planted(tmp_path / "venv" / "bin")
    os.chown(fake, NOBODY, NOBODY)
    with pytest.raises(InputError) as caught:
        query_interpreter(fake)
    assert str(caught.value) == (
        f"{fake}: not run: {fake} is owned by uid {NOBODY}, neither you nor root"
    )
    assert not (fake.parent / "RAN").exists()


@POSIX
def test_an_interpreter_in_a_folder_others_can_write_is_not_run(tmp_path: Path) -> None:
    fake = _planted(tmp_path / "shared")
    fake.parent.chmod(0o1777)
    with pytest.raises(InputError) as caught:
        query_interpreter(fake)
    assert str(caught.value) == f"{fake}: not run: {fake.parent} is writable by others"
    assert not (fake.parent / "RAN").exists()


@POSIX
def test_a_pth_file_beside_the_interpreter_stops_it(venv: Path, tmp_path: Path) -> None:
    """A ``._pth`` file turns ``site`` (and so .pth code) back on, even under ``-I -S``."""
    copy = clone_venv(venv, tmp_path / "venv")
    trap = tmp_path / "pth-ran"
    site = site_packages(copy)
    (site / "trap.pth").write_text(f"import pathlib; pathlib.Path({str(trap)!r}).touch()\n")
    stdlib = subprocess.run(
        [copy / VENV_PYTHON, "-I", "-S", "-c", "import sys; print(*filter(None, sys.path))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    (copy / "bin" / "python._pth").write_text("\n".join([*stdlib, str(site), "import site\n"]))
    with pytest.raises(InputError) as caught:
        query_interpreter(copy / VENV_PYTHON)
    pth = copy / "bin" / "python._pth"
    assert str(caught.value) == (
        f"{copy / VENV_PYTHON}: not run: {pth} would turn site and .pth code on"
    )
    assert not trap.exists()


def _script(body: str) -> str:
    return f"#!{sys.executable}\n{body}\n"


def _answer(**answer: object) -> str:
    return _script(f"import json; print(json.dumps({answer!r}))")


GARBAGE = [
    pytest.param(
        _script("print('hello, world')"),
        0o755,
        10,
        "did not answer as a Python interpreter",
        id="nonsense",
    ),
    pytest.param(
        _answer(python_version="3.11.7", distributions={"a": 1}, torch=None),
        0o755,
        10,
        "did not answer as a Python interpreter",
        id="wrong-shape",
    ),
    pytest.param(
        _answer(python_version="3.11.7", distributions={}, torch={"version": 2}),
        0o755,
        10,
        "did not answer as a Python interpreter",
        id="bad-torch",
    ),
    pytest.param(
        _script("import sys; sys.stderr.write('Traceback\\n  boom here\\n\\n'); sys.exit(3)"),
        0o755,
        10,
        "exited with status 3: boom here",
        id="fails",
    ),
    pytest.param(
        _script("raise SystemExit(4)"), 0o755, 10, "exited with status 4", id="fails-silently"
    ),
    pytest.param(
        _script("import os; os.kill(os.getpid(), 9)"),
        0o755,
        10,
        "was killed by signal 9",
        id="killed",
    ),
    pytest.param(
        _script("import time; time.sleep(60)"),
        0o755,
        0.3,
        "did not answer within 0.3 s",
        id="slow",
    ),
    pytest.param("just some notes\n", 0o644, 10, "not executable", id="text-file"),
    pytest.param(
        "just some notes\n", 0o755, 10, "cannot run it: Exec format error", id="not-a-program"
    ),
]


@POSIX
@pytest.mark.parametrize(("content", "mode", "timeout", "reason"), GARBAGE)
def test_garbage_interpreters(
    tmp_path: Path, content: str, mode: int, timeout: float, reason: str
) -> None:
    """Each answers, or fails to, in its own way; the reason names the executable."""
    fake = tmp_path / "python"
    fake.write_text(content)
    fake.chmod(mode)
    with pytest.raises(InputError) as caught:
        query_interpreter(fake, timeout=timeout)
    assert str(caught.value) == f"{fake}: {reason}"


@POSIX
@pytest.mark.parametrize("then", ["time.sleep(60)", "pass"], ids=["keeps-going", "stops"])
def test_an_answer_too_large_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, then: str
) -> None:
    monkeypatch.setattr(interpreter, "MAX_OUTPUT", 1000)
    fake = tmp_path / "python"
    fake.write_text(
        _script(f"import sys, time; sys.stdout.write('x' * 5000); sys.stdout.flush(); {then}")
    )
    fake.chmod(0o755)
    with pytest.raises(InputError, match=r": answered more than 1000 bytes$"):
        query_interpreter(fake, timeout=10)


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("missing/python", "{tmp}/missing/python: no such file"),
        ("folder", "{tmp}/folder: a folder that is not a virtual environment"),
        (
            "no-such-python-anywhere",
            "no-such-python-anywhere: no such file, and no such command on PATH",
        ),
        (" ", "the Python interpreter path is empty"),
    ],
    ids=["missing", "plain-folder", "unknown-command", "empty"],
)
def test_what_cannot_be_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: str, reason: str
) -> None:
    (tmp_path / "folder").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "folder"))
    with pytest.raises(InputError) as caught:
        query_interpreter(given)
    assert str(caught.value) == reason.format(tmp=tmp_path)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
ANSWER_KEYS = st.sampled_from(["python_version", "distributions", "torch", "version", "requires"])


@settings(deadline=None)
@given(st.dictionaries(ANSWER_KEYS, JSON, max_size=5) | JSON)
def test_any_answer_is_facts_or_a_one_line_input_error(answer: object) -> None:
    raw = json.dumps(answer).encode()
    try:
        facts = interpreter._parse(raw, "/opt/python")
    except InputError as e:
        assert str(e) == "/opt/python: did not answer as a Python interpreter"
    else:
        assert isinstance(answer, dict)
        assert facts.python_version == answer["python_version"]
        assert facts.distributions == answer["distributions"]


@settings(deadline=None)
@given(st.binary(max_size=64))
def test_any_bytes_are_facts_or_an_input_error(raw: bytes) -> None:
    try:
        interpreter._parse(raw, "/opt/python")
    except InputError as e:
        assert "\n" not in str(e)
