"""The console's routes: the page and its assets, a snapshot, the live stream, frame images, the review
queue's labels and the rollback action. Access is checked before any of them (access.AccessGuard)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from inspectd.console.access import COOKIE, LOGIN_PATH, SESSION_LIFETIME_S, Access, AccessGuard, unauthorized
from inspectd.daemon.frame_archive import FRAME_ID

if TYPE_CHECKING:
    from inspectd.console.server import Console

STATIC = resources.files("inspectd.console") / "static"
KEEPALIVE_S = 15.0
WRONG_TOKEN_DELAY_S = 0.5
MAX_PER_PAGE = 100
MAX_FORM_BYTES = 4096


class UpdateSignal:
    """Wakes every live stream when the board changes; ``notify`` may be called from any thread."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self.changed: asyncio.Event | None = None
        """Set (and replaced by a fresh one) at the next change; take it before reading the board."""
        self.closing = False

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Called on the server's loop before it serves."""
        self._loop, self.changed = loop, asyncio.Event()

    def notify(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        changed, self.changed = self.changed, asyncio.Event()
        changed.set()


def build_app(console: Console, access: Access, signal: UpdateSignal) -> Starlette:
    async def page(request: Request) -> Response:
        return FileResponse(str(STATIC / "index.html"), media_type="text/html")

    async def login(request: Request) -> Response:
        if not access.token_matches(await _form_token(request)):
            await asyncio.sleep(WRONG_TOKEN_DELAY_S)  # slows guessing
            return unauthorized(request.url.path, request.headers, "Wrong token.")
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, access.open_session(), max_age=int(SESSION_LIFETIME_S), httponly=True,
                            samesite="strict", path="/")
        return response

    async def logout(request: Request) -> Response:
        access.close_session(request.cookies.get(COOKIE))
        response = JSONResponse({"signed_out": True})
        response.delete_cookie(COOKIE, path="/")
        return response

    async def snapshot(request: Request) -> Response:
        state = await run_in_threadpool(console.snapshot)
        return JSONResponse({**state, "csrf": access.csrf_for(request), "auth": request.scope.get("auth")})

    async def stream(request: Request) -> Response:
        return StreamingResponse(_updates(console, signal, _int(request, "since", 0)),
                                 media_type="text/event-stream", headers={"X-Accel-Buffering": "no"})

    async def frame_image(request: Request) -> Response:
        frame_id = request.path_params["frame_id"]
        if not FRAME_ID.match(frame_id):
            return JSONResponse({"error": "invalid frame id"}, status_code=400)
        found = await run_in_threadpool(console.frame_image, frame_id)
        if found is None:
            return JSONResponse({"error": f"frame {frame_id} is no longer held"}, status_code=404)
        data, media_type = found
        return Response(data, media_type=media_type)

    async def review(request: Request) -> Response:
        per_page = min(max(_int(request, "per_page", 12), 1), MAX_PER_PAGE)
        return JSONResponse(console.board.review_page(max(_int(request, "page", 0), 0), per_page))

    async def label(request: Request) -> Response:
        body = await _json_body(request)
        outcome = console.submit_label(request.path_params["frame_id"], str(body.get("label")))
        return JSONResponse(outcome, status_code=202 if outcome.get("queued") else 400)

    async def rollback(request: Request) -> Response:
        body = await _json_body(request)
        outcome = await asyncio.wrap_future(console.rollback(request.path_params["product"], str(body.get("version"))))
        return JSONResponse(outcome, status_code=200 if "version" in outcome else 400)

    routes = [
        Route("/", page),
        Route(LOGIN_PATH, login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/api/snapshot", snapshot),
        Route("/api/stream", stream),
        Route("/api/frames/{frame_id}/image", frame_image),
        Route("/api/review", review),
        Route("/api/review/{frame_id}/label", label, methods=["POST"]),
        Route("/api/products/{product}/rollback", rollback, methods=["POST"]),
        Mount("/static", StaticFiles(directory=str(STATIC)), name="static"),
    ]
    return Starlette(routes=routes, middleware=[Middleware(AccessGuard, access=access)])


async def _updates(console: Console, signal: UpdateSignal, since: int) -> AsyncIterator[str]:
    """Server-sent events: every board update after ``since``; ``resync`` when the page fell too far behind."""
    seen = since
    yield "retry: 1000\n\n"
    while not signal.closing:
        changed = signal.changed
        updates, newest, lost = console.board.updates_after(seen)
        if lost:
            updates = [json.dumps({"seq": newest, "kind": "resync"})]
        for text in updates:
            yield f"data: {text}\n\n"
        seen = newest
        if not updates:
            try:
                await asyncio.wait_for(changed.wait(), KEEPALIVE_S)
            except asyncio.TimeoutError:
                yield ": keepalive\n\n"


async def _form_token(request: Request) -> str:
    """The ``token`` field of the sign-in form (urlencoded); reads no more than MAX_FORM_BYTES of what an
    unauthenticated client sends."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return ""
    return parse_qs(body.decode("utf-8", "replace")).get("token", [""])[0]


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _int(request: Request, name: str, default: int) -> int:
    try:
        return int(request.query_params.get(name, default))
    except ValueError:
        return default
