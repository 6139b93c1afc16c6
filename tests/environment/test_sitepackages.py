"""Tests for audit.environment.sitepackages: environments laid out as installers make them."""

from __future__ import annotations

import doctest
import os
from pathlib import Path

import pytest

import audit.environment.sitepackages
from audit.environment.sitepackages import (
    InstalledFiles,
    environment_of,
    find_environment,
    read_environment,
)
from audit.environment.torchbuild import TorchBuild
from tests.environment.test_interpreter import CUDA_TORCH_REQUIRES, write_dist
from tests.hostile import fifo, sparse

PYVENV = "home = /usr/bin\ninclude-system-site-packages = {}\nversion = 3.12.3\n"


def venv(root: Path, *, folder: str = "site-packages", system: bool = False) -> Path:
    """A venv as ``python -m venv`` lays it out: its site folder is returned."""
    root.mkdir(parents=True)
    (root / "pyvenv.cfg").write_text(PYVENV.format(str(system).lower()))
    site = root / "lib" / "python3.12" / folder
    site.mkdir(parents=True)
    (root / "bin").mkdir()
    return site


def test_a_venv_is_read_from_its_files(tmp_path: Path) -> None:
    site = venv(tmp_path / "venv")
    write_dist(site, "torch", "2.7.1+cu126", CUDA_TORCH_REQUIRES)
    write_dist(site, "Pillow", "11.0.0")
    write_dist(site, "no-version", None)
    write_dist(site, "no-metadata", "1.0", metadata=False)
    (site / "torch").mkdir()
    (site / "torch" / "__init__.py").write_text("raise SystemExit('imported')\n")
    assert read_environment(tmp_path / "venv") == InstalledFiles(
        location=tmp_path / "venv",
        site_packages=(site,),
        python_version="3.12.3",
        distributions={"Pillow": "11.0.0", "torch": "2.7.1+cu126"},
        torch=TorchBuild("2.7.1+cu126", CUDA_TORCH_REQUIRES),
        partial=False,
    )


def test_a_debian_venv_keeps_its_packages_in_dist_packages(tmp_path: Path) -> None:
    """Debian's patched ``site`` lists only dist-packages; reading both folders finds them."""
    site = venv(tmp_path / "venv", folder="dist-packages")
    write_dist(site, "ultralytics", "8.3.41")
    found = read_environment(tmp_path / "venv")
    assert found is not None and dict(found.distributions) == {"ultralytics": "8.3.41"}


def test_system_site_packages_make_the_list_partial(tmp_path: Path) -> None:
    venv(tmp_path / "venv", system=True)
    found = read_environment(tmp_path / "venv")
    assert found is not None and found.partial


def test_the_version_from_the_lib_folder_without_pyvenv_cfg(tmp_path: Path) -> None:
    site = venv(tmp_path / "venv")
    (tmp_path / "venv" / "pyvenv.cfg").unlink()
    write_dist(site, "numpy", "2.1.0")
    found = read_environment(tmp_path / "venv")
    assert found is not None and found.python_version == "3.12"


def test_the_windows_portable_build(tmp_path: Path) -> None:
    embedded = tmp_path / "python_embeded"
    write_dist(embedded / "Lib" / "site-packages", "torch", "2.7.1+cu128")
    (embedded / "python.exe").write_bytes(b"MZ")
    (embedded / "python312._pth").write_text("python312.zip\n.\nLib/site-packages\n")
    found = read_environment(embedded)
    assert found is not None
    assert (found.python_version, dict(found.distributions)) == ("3.12", {"torch": "2.7.1+cu128"})
    assert environment_of(embedded / "python.exe") == embedded


@pytest.mark.parametrize(
    ("folders", "expected"),
    [
        ([".venv", "venv", "python_embeded"], ".venv"),
        (["venv", "python_embeded"], "venv"),
        (["python_embeded"], "python_embeded"),
        (["python_embedded"], "python_embedded"),
        ([], None),
    ],
)
def test_find_environment_prefers_dot_venv(
    tmp_path: Path, folders: list[str], expected: str | None
) -> None:
    install = tmp_path / "ComfyUI"
    for name in folders:
        write_dist(install / name / "Lib" / "site-packages", "x", "1")
    assert find_environment(install) == (install / expected if expected else None)


def test_nothing_outside_the_install_is_looked_at(tmp_path: Path) -> None:
    install = tmp_path / "ComfyUI"
    install.mkdir()
    venv(tmp_path / "venv")
    venv(tmp_path / "elsewhere")
    (install / ".venv").symlink_to(tmp_path / "elsewhere")
    assert find_environment(install) is None


def test_a_system_prefix_is_no_environment(tmp_path: Path) -> None:
    """``/usr`` has site folders only its interpreter knows: it is asked, not read."""
    (tmp_path / "lib" / "python3.12" / "site-packages").mkdir(parents=True)
    (tmp_path / "bin").mkdir()
    assert environment_of(tmp_path / "bin" / "python3") is None


def test_pth_folders_count_only_inside_the_environment(tmp_path: Path) -> None:
    site = venv(tmp_path / "venv")
    write_dist(tmp_path / "venv" / "src", "editable-pack", "0.1")
    write_dist(tmp_path / "outside", "planted", "6.6.6")
    (site / "a.pth").write_text(
        f"# comment\n../../../src\n{tmp_path / 'outside'}\nimport os; os.system('false')\n"
    )
    found = read_environment(tmp_path / "venv")
    assert found is not None and dict(found.distributions) == {"editable-pack": "0.1"}


def test_hostile_metadata_is_skipped(tmp_path: Path) -> None:
    site = venv(tmp_path / "venv")
    write_dist(site, "fine", "1.0")
    for name in ("fifo", "zero", "huge", "outside"):
        (site / f"{name}-1.0.dist-info").mkdir()
    fifo(site / "fifo-1.0.dist-info" / "METADATA")
    (site / "zero-1.0.dist-info" / "METADATA").symlink_to("/dev/zero")
    sparse(site / "huge-1.0.dist-info" / "METADATA", 20 * 1024**3)
    (tmp_path / "secret").write_text("Name: outside\nVersion: 1.0\n")
    (site / "outside-1.0.dist-info" / "METADATA").symlink_to(tmp_path / "secret")
    found = read_environment(tmp_path / "venv")
    assert found is not None and dict(found.distributions) == {"fine": "1.0"}


def test_the_first_distribution_on_the_path_wins(tmp_path: Path) -> None:
    site = venv(tmp_path / "venv")
    write_dist(site, "Pillow", "11.0.0")
    write_dist(tmp_path / "venv" / "lib" / "python3.12" / "dist-packages", "pillow", "9.0.0")
    found = read_environment(tmp_path / "venv")
    assert found is not None and dict(found.distributions) == {"Pillow": "11.0.0"}


def test_an_old_egg_info_file(tmp_path: Path) -> None:
    site = venv(tmp_path / "venv")
    (site / "legacy-0.9-py3.12.egg-info").write_text(
        "Metadata-Version: 1.0\nName: legacy\nVersion: 0.9\n"
    )
    found = read_environment(tmp_path / "venv")
    assert found is not None and dict(found.distributions) == {"legacy": "0.9"}


def test_lib64_linked_to_lib_is_read_once(tmp_path: Path) -> None:
    site = venv(tmp_path / "venv")
    os.symlink("lib", tmp_path / "venv" / "lib64")
    found = read_environment(tmp_path / "venv")
    assert found is not None and found.site_packages == (site,)


def test_doctests() -> None:
    assert doctest.testmod(audit.environment.sitepackages).failed == 0
