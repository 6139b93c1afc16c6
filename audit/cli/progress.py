"""How far the audit is, on stderr: stdout belongs to the summary."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from audit.pipeline import Progress

__all__ = ["StderrProgress", "no_progress", "progress_for"]


class StderrProgress:
    """Shows how far the audit is on stderr: a redrawn bar on a terminal, one line a stage
    otherwise (logs of scheduled runs); never on stdout, which belongs to the summary."""

    def __init__(self, stream: TextIO, width: int = 30) -> None:
        self._stream = stream
        self._width = width
        self._interactive = stream.isatty()
        self._shown: tuple[str, int] | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self._interactive:
            self._draw(stage, done, total)
        elif done == total:
            self._stream.write(f"comfy-audit: {stage}: {done}/{total}\n")

    def _draw(self, stage: str, done: int, total: int) -> None:
        filled = self._width * done // total if total else self._width
        if self._shown == (stage, filled) and done != total:
            return
        self._shown = (stage, filled)
        bar = "#" * filled + "-" * (self._width - filled)
        end = "\n" if done == total else ""
        self._stream.write(f"\r{stage:<12} [{bar}] {done}/{total}{end}")
        self._stream.flush()


def no_progress(stage: str, done: int, total: int) -> None:
    """Report nothing (``--quiet``)."""


def progress_for(stream: TextIO, *, quiet: bool) -> Progress:
    """The progress display of a command: none when ``quiet``."""
    return no_progress if quiet else StderrProgress(stream)
