"""A TCP proxy on 127.0.0.1 (port 0) in front of PostgreSQL's Unix socket, which a test stops and
starts to simulate a database restart without touching the shared server (the embedded server
listens on a Unix socket only). `stop()` closes the listener and every open connection."""

from __future__ import annotations

import asyncio
import threading

from psycopg.conninfo import conninfo_to_dict, make_conninfo


class PgProxy:
    def __init__(self, dsn: str) -> None:
        info = conninfo_to_dict(dsn)
        host, port = info.get("host", "/tmp"), int(info.get("port") or 5432)
        self.target = (f"{host}/.s.PGSQL.{port}", None) if host.startswith("/") else (host, port)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server: asyncio.AbstractServer | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.port = 0
        self.start()
        self.dsn = make_conninfo(dsn, host="127.0.0.1", port=self.port)

    def _run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def start(self) -> None:
        async def start() -> None:
            self.server = await asyncio.start_server(self._client, "127.0.0.1", self.port)
            self.port = self.server.sockets[0].getsockname()[1]
        self._run(start())

    def stop(self) -> None:
        async def stop() -> None:
            if self.server is not None:
                self.server.close()
                await self.server.wait_closed()
                self.server = None
            for writer in list(self.writers):
                writer.transport.abort()
            self.writers.clear()
        self._run(stop())

    def close(self) -> None:
        self.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        path, port = self.target
        try:
            if port is None:
                up_reader, up_writer = await asyncio.open_unix_connection(path)
            else:
                up_reader, up_writer = await asyncio.open_connection(path, port)
        except OSError:
            writer.transport.abort()
            return
        self.writers.update((writer, up_writer))
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self.writers.discard(writer)
            writer.transport.abort()
