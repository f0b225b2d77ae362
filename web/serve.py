"""`wirewatch serve`: the app on uvicorn, in the foreground until SIGINT/SIGTERM."""

from __future__ import annotations

import uvicorn

from web.app import create_app


def serve_forever(dsn: str, *, host: str, port: int, token: str | None, base_url: str | None = None) -> None:
    # uvicorn handles SIGINT/SIGTERM itself: in-flight requests finish, then the pool closes.
    uvicorn.run(create_app(dsn, token=token, base_url=base_url), host=host, port=port, log_level="info",
                access_log=False)
