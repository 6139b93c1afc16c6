"""comfy-audit: audit installed ComfyUI custom-node packs against the Comfy Registry."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("comfy-audit")
except PackageNotFoundError:  # NOTE: running from a source tree that was never installed.
    __version__ = "0.0.0"

TOOL_NAME = "comfy-audit"
USER_AGENT = f"{TOOL_NAME}/{__version__}"
