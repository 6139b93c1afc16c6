"""The Registry stage: what the Comfy Registry knows about installed node versions.

- `HttpRegistry` asks api.comfy.org (bulk POST, per-version GET as fallback);
- `MirrorRegistry` answers offline from a mirror file of NodeVersion records;
- `open_registry` picks one from the ``--registry`` option;
- `parse_node_version` is the tolerant reader both share.
"""

from audit.registry.factory import open_registry
from audit.registry.http_registry import HttpRegistry
from audit.registry.interface import Registry
from audit.registry.mirror import MirrorRegistry
from audit.registry.parse import parse_node_version
from audit.registry.transport import RequestStats

__all__ = [
    "HttpRegistry",
    "MirrorRegistry",
    "Registry",
    "RequestStats",
    "open_registry",
    "parse_node_version",
]
