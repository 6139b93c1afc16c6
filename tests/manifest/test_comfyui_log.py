"""Tests of reading import failures from ComfyUI's log (audit.manifest.comfyui_log)."""

from __future__ import annotations

import doctest
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import audit.manifest.comfyui_log
from audit.manifest.comfyui_log import LOG_TAIL, parse_import_log, read_import_log
from audit.model import ImportFailure

#: A Windows portable install's log, as ComfyUI-Manager writes it: timestamps, a traceback, a
#: colour-coded line from a pack, the import block, the server start (§ is ESC).
WINDOWS_LOG = "\n".join(
    [
        r"## ComfyUI-Manager: installing dependencies done.",
        r"[2025-03-14 09:12:01.532] ** ComfyUI startup time: 2025-03-14 09:12:01.532",
        r"[2025-03-14 09:12:01.533] ** Platform: Windows",
        r"[2025-03-14 09:12:01.540] ** Log path: C:\ComfyUI\user\comfyui.log",
        r"[2025-03-14 09:12:05.210] §[33m[rgthree-comfy]§[0m Loaded 48 exciting nodes. §[92m🎉§[0m",
        r"[2025-03-14 09:12:09.101] Traceback (most recent call last):",
        r'  File "C:\ComfyUI\nodes.py", line 2141, in load_custom_node',
        r"    module_spec.loader.exec_module(module)",
        r"ModuleNotFoundError: No module named 'cv2'",
        r"",
        r"[2025-03-14 09:12:09.102] Cannot import C:\ComfyUI\custom_nodes\ComfyUI-Impact-Pack module for custom nodes: No module named 'cv2'",  # noqa: E501
        r"[2025-03-14 09:12:09.877] §[31mCannot import C:\ComfyUI\custom_nodes\comfyui_face module for custom nodes: DLL load failed while importing _C§[0m",  # noqa: E501
        r"[2025-03-14 09:12:10.880] ",
        r"Import times for custom nodes:",
        r"[2025-03-14 09:12:10.880]    0.0 seconds: C:\ComfyUI\custom_nodes\websocket_image_save.py",  # noqa: E501
        r"[2025-03-14 09:12:10.881]    0.4 seconds (IMPORT FAILED): C:\ComfyUI\custom_nodes\ComfyUI-Impact-Pack",  # noqa: E501
        r"[2025-03-14 09:12:10.881] §[31m   0.1 seconds (IMPORT FAILED): C:\ComfyUI\custom_nodes\comfyui_face§[0m",  # noqa: E501
        r"[2025-03-14 09:12:10.882]    0.2 seconds (IMPORT FAILED): C:\ComfyUI\custom_nodes\broken_single.py",  # noqa: E501
        r"[2025-03-14 09:12:10.882]    1.2 seconds: C:\ComfyUI\custom_nodes\ComfyUI-KJNodes",
        r"[2025-03-14 09:12:10.883] ",
        r"[2025-03-14 09:12:10.900] Starting server",
        r"",
    ]
).replace("§", "\x1b")

#: A Linux log without Manager's timestamps (ComfyUI's own stdout), whose last line is cut.
LINUX_LOG = """Total VRAM 24564 MB, total RAM 64215 MB
Cannot import /opt/c/custom_nodes/comfyui-reactor-node module for custom nodes: bad 'get_model'

Import times for custom nodes:
   0.0 seconds: /opt/ComfyUI/custom_nodes/websocket_image_save.py
   0.3 seconds (IMPORT FAILED): /opt/ComfyUI/custom_nodes/comfyui-reactor-node
   0.5 seconds (IMPORT FAILED): /opt/ComfyUI/custom_nodes/ComfyUI-Mani"""


def test_a_windows_log_with_colours() -> None:
    assert parse_import_log(WINDOWS_LOG) == {
        "comfyui-impact-pack": ImportFailure("No module named 'cv2'", "2025-03-14 09:12:10.881"),
        "comfyui_face": ImportFailure(
            "DLL load failed while importing _C", "2025-03-14 09:12:10.881"
        ),
        "broken_single.py": ImportFailure(
            "listed as IMPORT FAILED in ComfyUI's log", "2025-03-14 09:12:10.882"
        ),
    }


def test_a_cut_last_line_is_left_out_and_lines_without_timestamps_are_read() -> None:
    assert parse_import_log(LINUX_LOG) == {
        "comfyui-reactor-node": ImportFailure("bad 'get_model'", None)
    }


def test_the_last_import_block_wins() -> None:
    second_start = (
        "Import times for custom nodes:\n   0.1 seconds: /x/custom_nodes/ComfyUI-Impact-Pack\n\n"
    )
    assert parse_import_log(WINDOWS_LOG + second_start) == {}


@pytest.mark.parametrize(
    "text",
    ["", "Starting server\n", "[2025-01-01 00:00:00.000] got prompt\n", "\x00\xff garbage\n"],
    ids=["empty", "no-block", "timestamps-only", "garbage"],
)
def test_a_log_without_an_import_block_is_unknown(text: str) -> None:
    assert parse_import_log(text) is None


def test_a_partial_read_drops_its_first_line() -> None:
    cut = "seconds (IMPORT FAILED): /x/custom_nodes/half\n" + LINUX_LOG + "\n"
    assert set(parse_import_log(cut, partial=True) or {}) == {
        "comfyui-reactor-node",
        "comfyui-mani",
    }


def _write(path: Path, text: str, mtime: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    os.utime(path, (mtime, mtime))


def test_the_newest_log_with_an_import_block_is_used(tmp_path: Path) -> None:
    user = tmp_path / "user"
    _write(user / "comfyui.prev.log", WINDOWS_LOG, 1_000)
    _write(user / "comfyui_8188.log", LINUX_LOG + "\n", 2_000)
    _write(user / "comfyui.log", "ComfyUI is starting...\n", 3_000)  # still loading
    _write(user / "comfyui.log.bak", WINDOWS_LOG, 4_000)  # not a ComfyUI log name
    log = read_import_log(tmp_path)
    assert log.note == "user/comfyui_8188.log"
    assert set(log.failures or {}) == {"comfyui-reactor-node", "comfyui-mani"}


def test_no_user_folder_is_no_error(tmp_path: Path) -> None:
    log = read_import_log(tmp_path)
    assert (log.failures, log.note) == (None, "not used: no ComfyUI log (comfyui*.log) in user/")


def test_logs_without_an_import_block_are_named(tmp_path: Path) -> None:
    _write(tmp_path / "user" / "comfyui.log", "Starting server\n", 2_000)
    _write(tmp_path / "user" / "comfyui.prev2.log", "got prompt\n", 1_000)
    log = read_import_log(tmp_path)
    assert (log.failures, log.note) == (
        None,
        "not used: no log in user/ holds an import block (comfyui.log, comfyui.prev2.log)",
    )


@pytest.mark.skipif(os.name != "posix", reason="FIFOs and symlinks")
def test_a_fifo_or_a_symlink_out_of_the_install_is_never_read(tmp_path: Path) -> None:
    root = tmp_path / "ComfyUI"
    (root / "user").mkdir(parents=True)
    os.mkfifo(root / "user" / "comfyui.log")
    outside = tmp_path / "elsewhere.log"
    outside.write_text(WINDOWS_LOG)
    (root / "user" / "comfyui.prev.log").symlink_to(outside)
    log = read_import_log(root)
    assert log.failures is None
    assert log.note.startswith("not used: no log in user/ holds an import block (comfyui.log: ")


def test_only_the_tail_of_a_huge_log_is_read(tmp_path: Path) -> None:
    path = tmp_path / "user" / "comfyui.log"
    path.parent.mkdir()
    with path.open("w", encoding="utf-8") as file:
        file.write(LINUX_LOG + "\n")  # an old start, beyond the tail
        file.write(("x" * 1023 + "\n") * (LOG_TAIL // 1024))
        file.write(WINDOWS_LOG)
    log = read_import_log(tmp_path)
    assert set(log.failures or {}) == {"comfyui-impact-pack", "comfyui_face", "broken_single.py"}


def test_doctests() -> None:
    assert doctest.testmod(audit.manifest.comfyui_log).failed == 0


LINES = st.sampled_from(
    [
        "Import times for custom nodes:",
        "   0.3 seconds (IMPORT FAILED): /x/custom_nodes/A",
        "   0.1 seconds: C:\\x\\custom_nodes\\b.py",
        "Cannot import /x/custom_nodes/A module for custom nodes: boom",
        "[2026-01-01 00:00:00.000] ",
        "\x1b[31m",
        "",
    ]
)


@settings(deadline=None)
@given(st.lists(LINES | st.text(max_size=20), max_size=12), st.booleans())
def test_any_text_gives_failures_by_lower_cased_folder_or_none(
    lines: list[str], partial: bool
) -> None:
    failures = parse_import_log("\n".join(lines), partial=partial)
    assert failures is None or all(name == name.lower() for name in failures)
