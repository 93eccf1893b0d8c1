"""Run the real ASGI application (daphne) in child processes against the test database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_database_url() -> str:
    """A DATABASE_URL naming the database this test session created."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@contextmanager
def asgi_servers(count: int = 1) -> Iterator[list[int]]:
    """Start ``count`` daphne processes serving psp_crm.asgi; yield their ports."""
    env = {**os.environ, "DATABASE_URL": test_database_url(), "DEBUG": "true", "PSP_TESTING": "1"}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    ports = [free_port() for _ in range(count)]
    daphne = str(Path(sys.executable).with_name("daphne"))
    procs = [
        subprocess.Popen(
            [daphne, "-b", "127.0.0.1", "-p", str(port), "psp_crm.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        deadline = time.monotonic() + 30
        for port in ports:
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("the ASGI servers did not start") from None
                    time.sleep(0.2)
        yield ports
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
