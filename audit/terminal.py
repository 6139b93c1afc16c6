"""One sanitiser for every line comfy-audit prints to a terminal.

Host names, pack ids, registry text and file names come from files and servers that may be
hostile: an escape sequence would reach the terminal (retitle it, hide text, rewrite the screen)
and a newline or carriage return would forge lines, such as a command in a plan to paste.
:func:`visible` makes every control character, line separator and bidirectional override
visible as Python writes it in a string (``\\x1b``, ``\\r``, ``\\u202e``), so one printed
line is one line of text.
"""

from __future__ import annotations

import unicodedata

import click

__all__ = ["echo", "visible", "visible_line"]

# NOTE: control (Cc), format (Cf: bidi overrides, zero-width), unassigned, private use,
# surrogates and line or paragraph separators are never printed as themselves.
_HIDDEN = frozenset({"Cc", "Cf", "Cn", "Co", "Cs", "Zl", "Zp"})


def _shown(char: str) -> str:
    if unicodedata.category(char) not in _HIDDEN:
        return char
    escaped = repr(char)[1:-1]
    return escaped if escaped != char else f"\\u{ord(char):04x}"


def visible_line(text: str) -> str:
    """Return ``text`` as one line: every newline and control character made visible.

    >>> visible_line("render-01\\n\\x1b]0;pwned\\x07curl x | sh")
    'render-01\\\\n\\\\x1b]0;pwned\\\\x07curl x | sh'
    """
    return "".join(_shown(c) for c in text)


def visible(text: str) -> str:
    """Return ``text`` with its lines kept and everything else :func:`visible_line` hides shown.

    >>> visible("a\\x1b[2J\\nb\\r")
    'a\\\\x1b[2J\\nb\\\\r'
    """
    return "\n".join(visible_line(line) for line in text.split("\n"))


def echo(text: str = "", *, err: bool = False, nl: bool = True) -> None:
    """Print ``text`` (made :func:`visible`) to standard output, or standard error."""
    click.echo(visible(text), err=err, nl=nl)
