"""Where the database is: a configured DSN, or an embedded PostgreSQL (pgserver) in the home directory."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import psycopg
from psycopg_pool import ConnectionPool

log = logging.getLogger(__name__)


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or started; the message is safe to show (no password)."""


def embedded_dsn(pgdata: Path, *, stop_on_exit: bool = False) -> str:
    """Start (or reuse) the embedded server whose data lives in `pgdata` and return its DSN.

    The server keeps running after this process exits unless `stop_on_exit`, so that
    `psql "$(wirewatch db url)"` and a second wirewatch process can use it; `stop_embedded`
    stops it. It listens on a Unix socket only, never on a TCP port.
    """
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    _clear_stale_pid(pgdata)
    new = not (pgdata / "PG_VERSION").exists()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import pgserver  # imported lazily so a DSN user never pays for it

        try:
            server = pgserver.get_server(pgdata, cleanup_mode="stop" if stop_on_exit else None)
        except Exception as exc:  # pgserver raises CalledProcessError, AssertionError, OSError...
            raise DatabaseUnavailable(
                f"cannot start the embedded PostgreSQL in {pgdata}: {exc} (see {pgdata / 'log'})"
            ) from exc
        if new:
            _size_new_server(server, pgdata)
    return server.get_uri()


def embedded_shared_buffers_mb() -> int:
    """A quarter of the machine's memory, between PostgreSQL's default 128 MB and 1 GB: searches
    read each candidate's tsvector, and an archive's hot part should stay in shared buffers
    (bench/japanese.py, 100,000 articles, 495 MB: p50 38 ms at 128 MB, 26 ms at 1 GB)."""
    import os

    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 128
    return max(128, min(1024, memory // 4 // 2**20))


def _size_new_server(server, pgdata: Path) -> None:
    """Give a newly created embedded server its shared buffers (one restart, once in its life).
    A user's own `ALTER SYSTEM` later is kept: this runs only when the data directory is new."""
    import subprocess

    from pgserver._commands import pg_ctl

    size = embedded_shared_buffers_mb()
    user = "pgserver" if _is_root() else None
    try:
        with psycopg.connect(server.get_uri(), autocommit=True) as conn:
            conn.execute(f"ALTER SYSTEM SET shared_buffers = '{size:d}MB'")
        pg_ctl(["-w", "-l", str(pgdata / "log"), "restart", "-m", "fast"], pgdata=pgdata, user=user, timeout=60)
    except (psycopg.Error, subprocess.SubprocessError, OSError) as exc:
        log.warning("embedded PostgreSQL in %s: could not set shared_buffers to %d MB (%s); keeping the default",
                    pgdata, size, exc, extra={"event": "db_tuning_failed"})
        auto = pgdata / "postgresql.auto.conf"
        if auto.exists():
            auto.write_text("".join(line for line in auto.read_text().splitlines(keepends=True)
                                    if not line.startswith("shared_buffers")))
    server.ensure_postgres_running()  # pgserver's handle follows the restarted postmaster (or starts it)


def _clear_stale_pid(pgdata: Path) -> None:
    """A server killed (kill -9, power loss) leaves postmaster.pid behind. pgserver then takes the
    server for running and hands out a DSN nobody answers; PostgreSQL itself would start and recover
    from its WAL. Remove the file when its process is gone so the server is started again."""
    import os

    pid_file = pgdata / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    try:
        os.kill(pid, 0)
        return  # alive (or another user's process with that PID): leave it to pgserver
    except ProcessLookupError:
        pass
    except PermissionError:
        return
    log.warning("embedded PostgreSQL in %s was not shut down cleanly (process %d is gone); starting it again",
                pgdata, pid, extra={"event": "db_unclean_shutdown"})
    pid_file.unlink(missing_ok=True)


def stop_embedded(pgdata: Path) -> bool:
    """Stop the embedded server in `pgdata`; False if none was running."""
    import subprocess

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        from pgserver._commands import pg_ctl

    if not (pgdata / "postmaster.pid").exists():
        return False
    try:
        pg_ctl(["-w", "stop", "-m", "fast"], pgdata=pgdata, user="pgserver" if _is_root() else None)
    except subprocess.CalledProcessError:
        return False
    return True


def _is_root() -> bool:
    import os

    return hasattr(os, "geteuid") and os.geteuid() == 0


def safe_dsn(dsn: str) -> str:
    """The DSN with any password removed, for logs and errors."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "<unparseable DSN>"
    if "password" in info:
        info["password"] = "***"
    return " ".join(f"{k}={v}" for k, v in info.items())


def connect(dsn: str, **kwargs) -> psycopg.Connection:
    try:
        return psycopg.connect(dsn, connect_timeout=10, **kwargs)
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(f"cannot connect to PostgreSQL ({safe_dsn(dsn)}): {_first_line(exc)}") from None


def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 4, name: str = "wirewatch") -> ConnectionPool:
    """One pool per process; fails at once on a bad DSN instead of at the first query."""
    pool = ConnectionPool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        name=name,
        open=False,
        check=ConnectionPool.check_connection,
        kwargs={"connect_timeout": 10},
    )
    pool.open()
    try:
        pool.wait(timeout=15)
    except Exception:
        pool.close()
        raise DatabaseUnavailable(f"cannot connect to PostgreSQL ({safe_dsn(dsn)})") from None
    return pool


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
