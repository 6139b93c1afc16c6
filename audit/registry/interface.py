"""The Registry stage: one bulk verb that answers many node@version pairs at once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from audit.model import LookupResult, NodeKey

__all__ = ["Registry"]


class Registry(Protocol):
    """Anything that can say what the Comfy Registry knows about node versions."""

    def lookup(self, keys: Sequence[NodeKey]) -> Mapping[NodeKey, LookupResult]:
        """Answer every key; a key never missing from the result, whatever fails.

        Keys that differ only in the case of the id are the same pair and are fetched once.
        """
        ...
