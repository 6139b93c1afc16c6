"""The optional registry token: where it comes from, and a wrapper that never shows it.

A token is read from a file (``--token-file``) or the ``COMFY_AUDIT_TOKEN`` environment
variable, never from a flag: flags end up in shell history, process lists and ``run.json``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from audit import safeio
from audit.errors import InputError

__all__ = ["TOKEN_ENV", "Token", "load_token"]

TOKEN_ENV = "COMFY_AUDIT_TOKEN"
#: Visible ASCII only: anything else could not go into an HTTP header, and requests would
#: name the bad value in its exception message.
_TOKEN_TEXT = re.compile(r"[\x21-\x7e]{1,4096}")
_MAX_TOKEN_FILE = 64 * 1024


class Token:
    """Represents a registry token; its text shows in no repr, str or message.

    >>> Token("s3cret")
    Token(***)
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if _TOKEN_TEXT.fullmatch(value) is None:
            raise ValueError("a registry token must be 1 to 4096 visible ASCII characters")
        self._value = value

    def reveal(self) -> str:
        """The token itself; call it only to build the ``Authorization`` header."""
        return self._value

    def __repr__(self) -> str:
        return "Token(***)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Token) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def load_token(env: Mapping[str, str], path: str | Path | None = None) -> str | None:
    """Return the registry token: the file at ``path`` if given, else ``$COMFY_AUDIT_TOKEN``.

    The file wins because naming it is an explicit choice. Surrounding whitespace (the final
    newline of a file) is dropped; an empty environment variable means no token.

    :raises InputError: for a file that cannot be read or is empty, or a token that could
        not go into an HTTP header. No message ever holds the token.

    >>> load_token({"COMFY_AUDIT_TOKEN": " abc\\n"}), load_token({})
    ('abc', None)
    """
    if path is not None:
        return _checked(_read(Path(path)), f"token file {str(path)!r}")
    value = env.get(TOKEN_ENV, "").strip()
    return _checked(value, TOKEN_ENV) if value else None


def _read(path: Path) -> str:
    try:
        text = safeio.read_bytes(path, limit=_MAX_TOKEN_FILE).decode("utf-8-sig")
    except safeio.Refused as error:
        raise InputError(f"token file {str(path)!r}: cannot read it: {error}") from None
    except UnicodeDecodeError:
        raise InputError(f"token file {str(path)!r}: not UTF-8 text") from None
    if not text.strip():
        raise InputError(f"token file {str(path)!r}: empty")
    return text.strip()


def _checked(value: str, origin: str) -> str:
    # NOTE: `from None` and no `!r` of the value: the token must not reach any message.
    if _TOKEN_TEXT.fullmatch(value) is None:
        raise InputError(
            f"{origin}: the token must be one line of at most 4096 visible ASCII characters"
        )
    return value
