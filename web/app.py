"""The FastAPI application: one connection pool, the bearer-token check, errors as JSON (API and
feeds) or as a page (web UI)."""

from __future__ import annotations

import hmac
import logging
from contextlib import asynccontextmanager

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from web.chart import CountedCoverage
from web.params import BadRequest
from web.pool import connection, open_pool

__all__ = ["connection", "create_app"]

log = logging.getLogger(__name__)
TOKEN_COOKIE = "wirewatch_token"
OPEN_PATHS = ("/healthz",)
MIN_TOKEN_CHARS = 16  # as scheduler/config.py's api.token
# The pages are server-rendered with no script: none may run, nothing loads from elsewhere, no
# other site may frame them. Styles are inline (base.html's <style>, a few style attributes, the
# chart's colours). no-referrer: a page opened with ?token= must not hand it to the outlets it links to.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def create_app(dsn: str, *, token: str | None = None, base_url: str | None = None, pool_size: int = 4) -> FastAPI:
    """The app over the archive at `dsn`. With `token`, every request but /healthz must carry it.
    `base_url` (api.base_url) is the public address absolute links use; without it feeds link
    relatively: the request's Host header is the client's to choose, never put in a link."""
    from web import api, pages

    if token is not None and len(token) < MIN_TOKEN_CHARS:
        raise ValueError(f"the API token must have at least {MIN_TOKEN_CHARS} characters")

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        pool, reachability = open_pool(dsn, pool_size)
        pool.wait(timeout=30)  # a bad DSN fails at start, not at the first request
        app.state.pool, app.state.reachability = pool, reachability
        app.state.counted_coverage = CountedCoverage()
        try:
            yield
        finally:
            pool.close()

    app = FastAPI(title="wirewatch", version="1", lifespan=lifespan, openapi_url="/api/openapi.json",
                  docs_url=None, redoc_url=None,
                  description="Search the wirewatch archive: articles, syndicated copies, stories, outlets, "
                              "watches. Errors are JSON {\"error\": message} with a 4xx status.")
    app.state.base_url = base_url or "/"

    @app.middleware("http")
    async def require_token(request: Request, call_next):
        if token is None or request.url.path in OPEN_PATHS:
            return await call_next(request)
        given = _presented_token(request)
        if given is None or not hmac.compare_digest(given.encode(), token.encode()):
            return JSONResponse({"error": "missing or wrong bearer token (Authorization: Bearer TOKEN)"},
                                status_code=401, headers={"WWW-Authenticate": "Bearer"})
        response: Response = await call_next(request)
        if request.query_params.get("token") and request.cookies.get(TOKEN_COOKIE) != given:
            # a browser opened a link with ?token=: remember it for the pages it visits next
            response.set_cookie(TOKEN_COOKIE, given, httponly=True, samesite="strict")
        return response

    @app.middleware("http")  # added last, so outermost: on the token's 401 and every error page too
    async def security_headers(request: Request, call_next):
        response: Response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.exception_handler(BadRequest)
    async def bad_request(request: Request, exc: BadRequest):
        return _error(request, 400, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors())
        return _error(request, 400, detail)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        return _error(request, exc.status_code, str(exc.detail))

    @app.exception_handler(psycopg.OperationalError)
    async def database_down(request: Request, exc: psycopg.OperationalError):
        log.warning("database unavailable for %s: %s", request.url.path, exc, extra={"event": "database_down"})
        return _error(request, 503, "the database is unavailable; try again shortly")

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi_at_root() -> JSONResponse:
        # where client generators and API tools look first; /api/openapi.json stays the documented one
        return JSONResponse(app.openapi())

    app.include_router(api.router)
    app.include_router(pages.router)
    return app


def _presented_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.query_params.get("token") or request.cookies.get(TOKEN_COOKIE)


def _error(request: Request, status: int, message: str) -> Response:
    if request.url.path.startswith(("/api/", "/feeds/", "/healthz")):
        return JSONResponse({"error": message}, status_code=status)
    from web.pages import error_page

    return error_page(request, status, message)
