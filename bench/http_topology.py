"""Which server should carry plain HTTP in production: WSGI (gunicorn) or ASGI (uvicorn, daphne)?

Usage: DATABASE_URL=postgres://… python bench/http_topology.py [--seconds 8] [--connections 32]

Migrates the database it is given, collects static files into a temporary folder, then serves the
product with each topology on a free port and loads two pages with wrk (Debian package `wrk`):
`/healthz` (one query, no template) and `/accounts/login/` (full middleware, session, CSRF,
template). Prints requests/s per server and page and ends with
`RESULT http_topology <WSGI ÷ best ASGI on the login page> x`. Needs `pip install -e '.[deploy]'`.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PAGES = ("/healthz", "/accounts/login/")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server on {port} did not start")


def wrk(url: str, seconds: int, connections: int) -> float:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        raise RuntimeError(f"{url}: {non_2xx.group(1)} error responses")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def servers() -> dict[str, tuple[int, list[str]]]:
    """name → (port, command); WSGI workers keep their database connection (DB_CONN_MAX_AGE)."""
    workers = str(2 * (os.cpu_count() or 2) + 1)
    ports = [free_port() for _ in range(3)]
    return {
        f"gunicorn WSGI, {workers} sync workers": (
            ports[0],
            [
                "env",
                "DB_CONN_MAX_AGE=60",
                str(BIN / "gunicorn"),
                "-w",
                workers,
                "-b",
                f"127.0.0.1:{ports[0]}",
                "psp_crm.wsgi",
            ],
        ),
        "uvicorn ASGI, 2 workers": (
            ports[1],
            [
                str(BIN / "uvicorn"),
                "--workers",
                "2",
                "--port",
                str(ports[1]),
                "--no-access-log",
                "--log-level",
                "warning",
                "psp_crm.asgi:application",
            ],
        ),
        "daphne ASGI, 1 process": (
            ports[2],
            [
                str(BIN / "daphne"),
                "-b",
                "127.0.0.1",
                "-p",
                str(ports[2]),
                "psp_crm.asgi:application",
            ],
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--n", type=int, default=0, help="unused; kept for the bench convention")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database this benchmark may migrate.")
    if not shutil.which("wrk"):
        sys.exit("Install wrk (apt-get install wrk).")
    static_root = tempfile.mkdtemp(prefix="psp-bench-static-")
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-secret-key-not-for-production-use-0123456789",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "STATIC_ROOT": static_root,
        "LOG_LEVEL": "WARNING",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([*manage, "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)

    results: dict[str, dict[str, float]] = {}
    for name, (port, command) in servers().items():
        log = open(Path(tempfile.gettempdir()) / f"psp-bench-{port}.log", "w")  # noqa: SIM115
        print(f"{name}: log in {log.name}", flush=True)
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
        try:
            wait_for(port)
            results[name] = {}
            for page in PAGES:
                url = f"http://127.0.0.1:{port}{page}"
                wrk(url, 2, args.connections)  # warm up
                results[name][page] = wrk(url, args.seconds, args.connections)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:  # daphne may linger on open keep-alive sockets
                proc.kill()
                proc.wait()
    shutil.rmtree(static_root, ignore_errors=True)

    print(f"{'server':<36} " + " ".join(f"{p:>18}" for p in PAGES))
    for name, row in results.items():
        print(f"{name:<36} " + " ".join(f"{row[p]:>14.0f} r/s" for p in PAGES))
    wsgi = next(v for k, v in results.items() if "WSGI" in k)["/accounts/login/"]
    best_asgi = max(v["/accounts/login/"] for k, v in results.items() if "ASGI" in k)
    print(f"WSGI ÷ best ASGI on the login page: {wsgi / best_asgi:.2f}")
    print(f"RESULT http_topology {wsgi / best_asgi:.2f} x")


if __name__ == "__main__":
    main()
