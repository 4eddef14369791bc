"""An HTTP session that keeps the token with its forge.

requests follows redirects by itself and, on a change of host, strips only the ``Authorization``
header: python-gitlab's ``PRIVATE-TOKEN`` went along to whatever host a forge redirected to, and
the foreign answer was taken as the account's data. :class:`ForgeSession` follows no redirect and
sends nothing outside the forge's API origin (scheme, host and port of its ``api_url``): every
request goes through :meth:`ForgeSession.send`, listings and files alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import requests

from crawler.forges.base import AccountNotFound, ForgeError, MalformedResponse

if TYPE_CHECKING:
    from requests.sessions import _Settings  # the stubs' type of the merged settings

_DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int]


class AccountMoved(AccountNotFound):
    """The forge redirects to another place on itself: the account was renamed or moved."""


class RedirectRefused(ForgeError):
    """The forge redirects outside its API origin: not followed, the token stays with the forge;
    an error for the account whose request it was."""


class OffForgeRequest(MalformedResponse):
    """A URL outside the forge's API origin was about to be requested (a stored cursor, a
    next-page link): refused before anything is sent."""


def origin(url: str) -> Origin | None:
    """``(scheme, host, port)`` of an absolute http(s) URL, default ports made explicit;
    ``None`` for anything else (relative, another scheme, a bad port)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower().rstrip("."), port or _DEFAULT_PORTS[scheme]


class ForgeSession(requests.Session):
    """A ``requests.Session`` bound to one forge's API origin: it refuses to send a request
    elsewhere and turns a redirect into an error instead of following it.

    A redirect within the origin raises :class:`AccountMoved` (naming the new place), one
    elsewhere :class:`RedirectRefused`; both are ``ForgeError``s, which python-gitlab lets through
    untouched, so the adapter's usual per-account handling applies.
    """

    def __init__(self, api_url: str) -> None:
        super().__init__()
        bound = origin(api_url)
        if bound is None:
            raise ValueError(f"not an absolute http(s) URL: {api_url!r}")
        self.origin: Origin = bound
        self._settings: dict[tuple[str, str, str, str, str], _Settings] = {}

    def merge_environment_settings(
        self, url: str | bytes | None, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> _Settings:
        """The environment's proxies and CA bundle, read once per origin and arguments:
        ``requests`` reads them again for every request, walking the whole environment twice
        (about 170 µs a request, 6 % of a GitLab crawl's CPU), and every request of this
        session goes to one origin (a request elsewhere is refused in ``send``)."""
        where = origin(url.decode() if isinstance(url, bytes) else url or "")
        key = (repr(where), repr(proxies), repr(stream), repr(verify), repr(cert))
        if key not in self._settings:
            self._settings[key] = super().merge_environment_settings(
                url, proxies, stream, verify, cert
            )
        settings = self._settings[key].copy()
        settings["proxies"] = dict(settings["proxies"])
        return settings

    def on_forge(self, url: str) -> bool:
        return origin(url) == self.origin

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        url = request.url or ""
        if not self.on_forge(url):
            raise OffForgeRequest(f"refused to send a request outside the forge's API: {url}")
        kwargs["allow_redirects"] = False
        response = super().send(request, **kwargs)
        if not response.is_redirect:
            return response
        target = urljoin(response.url, response.headers.get("location", ""))
        status = response.status_code
        response.close()
        if self.on_forge(target):
            raise AccountMoved(
                f"{response.url} redirects to {target} (renamed or moved?); not followed", status
            )
        raise RedirectRefused(
            f"{response.url} redirects outside the forge, to {target}: not followed, the token "
            "is never sent elsewhere",
            status,
        )
