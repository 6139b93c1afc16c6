"""comfy-audit: audit installed ComfyUI custom-node packs against the Comfy Registry."""

TOOL_NAME = "comfy-audit"

__all__ = ["TOOL_NAME", "USER_AGENT", "__version__"]


def _installed_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(TOOL_NAME)
    except PackageNotFoundError:  # NOTE: running from a source tree that was never installed.
        return "0.0.0"


def __getattr__(name: str) -> str:
    # NOTE: looked up on first use: reading the installed metadata costs `--help` a tenth of
    # its start-up.
    if name not in ("__version__", "USER_AGENT"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    version = _installed_version()
    globals().update(__version__=version, USER_AGENT=f"{TOOL_NAME}/{version}")
    return str(globals()[name])
