"""URL credentials: the one place that masks or strips them (pure, no imports beyond ``re``).

Every message, label, trailer and cache name that may contain a remote URL goes through here.
"""

from __future__ import annotations

import re

_USERINFO = re.compile(
    r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^/@:\s]*)(?P<pw>:[^/@\s]*)?@"
)
_ANY_USERINFO = re.compile(r"(://)[^/@\s]*@")


def mask_credentials(text: str) -> str:
    """``text`` with URL credentials masked: ``http://user:***@host``, ``https://***@host``.

    A bare user name is kept for ssh-like schemes (``ssh://git@host``) where it is not a secret,
    and masked for http(s) where it is often a token.
    """

    def mask(match: re.Match[str]) -> str:
        scheme, user = match["scheme"], match["user"]
        if match["pw"] is not None:
            return f"{scheme}{user}:***@"
        if user and scheme.lower().startswith("http"):
            return f"{scheme}***@"
        return match.group(0)

    return _USERINFO.sub(mask, text)


def strip_credentials(url: str) -> str:
    """``url`` without any user information (for names derived from a URL, e.g. cache dirs)."""
    return _ANY_USERINFO.sub(r"\1", url)
