"""Redirect and credential policy: where a request may be sent on, and who gets the token."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import requests
from requests.auth import AuthBase

from audit.registry.credentials import Token

__all__ = ["MAX_REDIRECTS", "bearer_auth", "redirect_refusal", "same_origin"]

#: pip-audit's reasoning holds here too: an API should never redirect more than once or twice.
MAX_REDIRECTS = 5
_KEEP_BODY_ON_REDIRECT = frozenset({307, 308})


def bearer_auth(url: str, token: Token | None, origin: str | None) -> AuthBase | None:
    """The token for a request to the registry's own ``origin``, else nothing.

    NOTE: checked per request, redirects included, so the token never follows a redirect to
    another host, whatever the redirect rules allow.
    """
    if token is None or origin is None or not same_origin(url, origin):
        return None
    return _BearerAuth(token)


class _BearerAuth(AuthBase):
    """Sets ``Authorization: Bearer``; an explicit auth also keeps netrc from overriding it."""

    def __init__(self, token: Token) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token.reveal()}"
        return request


def same_origin(url: str, other: str) -> bool:
    """Whether two URLs share scheme, host and port (default ports filled in).

    >>> same_origin("https://API.comfy.org:443/nodes", "https://api.comfy.org")
    True
    """
    return _origin(url) is not None and _origin(url) == _origin(other)


def _origin(url: str) -> tuple[str, str, int] | None:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:
        return None
    host = (parts.hostname or "").rstrip(".")
    return (scheme, host, port) if host and port else None


def redirect_refusal(
    method: str, status: int, source: str, target: str, allow: Callable[[str], bool]
) -> str | None:
    """Why a redirect from ``source`` to ``target`` must not be followed, or ``None``.

    >>> redirect_refusal("GET", 302, "https://a.org/x", "http://a.org/x", lambda url: True)
    'refused a redirect from https to http://a.org/x'
    """
    if urlsplit(source).scheme == "https" and urlsplit(target).scheme != "https":
        return f"refused a redirect from https to {target}"
    if not allow(target):
        return f"refused a redirect to {target}"
    if method != "GET" and status not in _KEEP_BODY_ON_REDIRECT:
        # NOTE: 301/302/303 would turn the bulk POST into a GET without its body.
        return f"refused an HTTP {status} redirect of a {method} request"
    return None
