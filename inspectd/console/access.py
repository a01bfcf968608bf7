"""Who may use the console, checked before any page, asset or action is served.

With a token configured every request needs it: as ``Authorization: Bearer <token>``, or as the session
cookie a browser gets by posting the token to the login form. State-changing requests are refused when
they come from another site (``Origin`` / ``Sec-Fetch-Site``) and, for a cookie or token-less session,
unless they carry the page's CSRF token in ``X-CSRF-Token``; the cookie is ``SameSite=Strict``. Without a
token (loopback only), requests must name a loopback host, which defeats DNS rebinding.
"""

from __future__ import annotations

import functools
import hmac
import secrets
import time
from collections import OrderedDict
from http.cookies import SimpleCookie
from typing import Any

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

COOKIE = "inspectd_console"
CSRF_HEADER = "x-csrf-token"
SESSION_LIFETIME_S = 12 * 3600.0
MAX_SESSIONS = 256
SAFE_METHODS = frozenset({"GET", "HEAD"})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
LOGIN_PATH = "/login"

LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>inspectd console: sign in</title></head>
<body><h1>inspectd console</h1>
<form method="post" action="/login"><label>Access token <input id="token" name="token" type="password"
autocomplete="current-password" autofocus></label> <button id="sign-in" type="submit">Sign in</button></form>
<p>{message}</p></body></html>"""


class Access:
    """The token (None: loopback without one) and the sessions of browsers that signed in."""

    def __init__(self, token: str | None) -> None:
        self.token = token
        self._sessions: OrderedDict[str, tuple[str, float]] = OrderedDict()  # session -> (csrf, expires)
        self._open_csrf = secrets.token_urlsafe(24)  # the CSRF token of every page when there is no token

    def token_matches(self, offered: str) -> bool:
        return self.token is not None and hmac.compare_digest(offered.encode(), self.token.encode())

    def open_session(self) -> str:
        session = secrets.token_urlsafe(32)
        self._sessions[session] = (secrets.token_urlsafe(24), time.monotonic() + SESSION_LIFETIME_S)
        while len(self._sessions) > MAX_SESSIONS:
            self._sessions.popitem(last=False)
        return session

    def close_session(self, session: str | None) -> None:
        self._sessions.pop(session or "", None)

    def session_csrf(self, session: str | None) -> str | None:
        """The CSRF token of a live session; None for an unknown or expired one."""
        found = self._sessions.get(session or "")
        if found is None or found[1] < time.monotonic():
            self.close_session(session)
            return None
        return found[0]

    def csrf_for(self, request: Request) -> str | None:
        """The CSRF token the page of ``request`` must echo (None: bearer requests need none)."""
        if self.token is None:
            return self._open_csrf
        return self.session_csrf(request.cookies.get(COOKIE))


class AccessGuard:
    """ASGI middleware: answers 401/403 itself, or passes the request on with ``scope['auth']`` set to
    ``bearer``, ``session`` or ``open`` (no token configured)."""

    def __init__(self, app: ASGIApp, access: Access) -> None:
        self._app = app
        self._access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refusal = self._refusal(scope, headers)
        secured = functools.partial(_with_security_headers, send)
        await (refusal or self._app)(scope, receive, secured)

    def _refusal(self, scope: Scope, headers: Headers) -> Response | None:
        access, method, path = self._access, scope["method"], scope["path"]
        unsafe = method not in SAFE_METHODS
        if unsafe and _cross_site(headers, scope):
            return JSONResponse({"error": "cross-site request refused"}, status_code=403)
        if access.token is None:
            if headers.get("host", "").rsplit(":", 1)[0] not in LOOPBACK_HOSTS:
                return JSONResponse({"error": "host not allowed: the console answers loopback names only"},
                                    status_code=403)
            scope["auth"] = "open"
        elif _bearer(headers) is not None:
            if not access.token_matches(_bearer(headers) or ""):
                return JSONResponse({"error": "wrong token"}, status_code=401)
            scope["auth"] = "bearer"
            return None
        elif access.session_csrf(_cookie(headers)) is not None:
            scope["auth"] = "session"
        elif path == LOGIN_PATH and method == "POST":
            return None  # the login form itself checks the token it is given
        else:
            return unauthorized(path, headers)
        if unsafe and path != LOGIN_PATH:
            expected = access.csrf_for(Request(scope))
            offered = headers.get(CSRF_HEADER, "")
            if expected is None or not hmac.compare_digest(offered.encode(), expected.encode()):
                return JSONResponse({"error": "missing or wrong X-CSRF-Token"}, status_code=403)
        return None


def unauthorized(path: str, headers: Headers, message: str = "Sign in with the console's access token.") -> Response:
    """401: the sign-in form for a page, JSON for the API."""
    if path.startswith("/api/") or "text/html" not in headers.get("accept", ""):
        return JSONResponse({"error": "unauthorized: send Authorization: Bearer <token> or sign in"},
                            status_code=401, headers={"WWW-Authenticate": "Bearer"})
    return HTMLResponse(LOGIN_PAGE.format(message=message), status_code=401, headers={"WWW-Authenticate": "Bearer"})


def _bearer(headers: Headers) -> str | None:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def _cookie(headers: Headers) -> str | None:
    cookies: SimpleCookie = SimpleCookie()
    try:
        cookies.load(headers.get("cookie", ""))
    except Exception:  # a malformed Cookie header is no session
        return None
    morsel = cookies.get(COOKIE)
    return morsel.value if morsel else None


def _cross_site(headers: Headers, scope: Scope) -> bool:
    """True when a browser says the request comes from another origin."""
    if headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return True
    origin = headers.get("origin")
    if origin is None:
        return False
    return origin != f"{scope.get('scheme', 'http')}://{headers.get('host', '')}"


async def _with_security_headers(send: Send, message: dict[str, Any]) -> None:
    """No framing, sniffing, caching or referrer to other sites; pages load only the daemon's own scripts and styles."""
    if message["type"] == "http.response.start":
        message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
    await send(message)


SECURITY_HEADERS = [(name.encode(), value.encode()) for name, value in (
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),  # no-referrer would make Chromium send Origin: null
    ("cache-control", "no-store"),
    ("content-security-policy", "default-src 'self'; img-src 'self' blob:; frame-ancestors 'none'; form-action 'self'"),
)]
