"""comfy-audit: audit installed ComfyUI custom-node packs against the Comfy Registry."""

TOOL_NAME = "comfy-audit"
__version__ = "0.1.0"
USER_AGENT = f"{TOOL_NAME}/{__version__}"

__all__ = ["TOOL_NAME", "USER_AGENT", "__version__"]
