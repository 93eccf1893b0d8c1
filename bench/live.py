"""Live-update latency: a write through the service layer → the event on open websockets.

Usage: DATABASE_URL=postgres://… REDIS_URL=redis://127.0.0.1:6379/N python bench/live.py --n 200

Migrates and seeds the demo world (no crowd) into the database it is given, starts one ASGI server
(daphne) on a free port, opens N sockets signed in as dr.rossi, then toggles Anna Conti's
enrolment (suspend / reactivate) through ``enrolment_transition`` 40 times from this process. Each
write's event travels through Redis to the server and out to the N sockets; the script prints the
write → delivery latency (p50/p95/max over every socket and write) and ends with
`RESULT live <p95 ms> ms`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "psp_crm.settings")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="open sockets")
    parser.add_argument("--writes", type=int, default=40)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get(
        "REDIS_URL"
    ):
        sys.exit("Set DATABASE_URL (PostgreSQL, may be wiped) and REDIS_URL.")

    import django

    django.setup()
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command

    from psp_crm.models import Enrolment, User
    from psp_crm.services.enrolments import enrolment_transition

    call_command("migrate", verbosity=0)
    call_command("seed_demo", crowd=0, force=True, verbosity=0)
    rossi = User.objects.get(email="dr.rossi@sanluca.example")
    ops = User.objects.get(email="ops@curaplus.example")
    enrolment = Enrolment.objects.get(patient__user__email="anna.conti@example.com")
    session = SessionStore()
    session["_auth_user_id"] = str(rossi.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = rossi.get_session_auth_hash()
    session.create()

    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("daphne")),
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "psp_crm.asgi:application",
        ],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "true"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    received: dict[str, list[float]] = {}
    ready = threading.Event()
    stop = threading.Event()

    async def sockets() -> None:
        from websockets.asyncio.client import connect

        headers = {
            "Cookie": f"sessionid={session.session_key}",
            "Origin": f"http://127.0.0.1:{port}",
        }
        conns = []
        for _ in range(args.n):
            ws = await connect(f"ws://127.0.0.1:{port}/ws/live/", additional_headers=headers)
            await ws.recv()  # hello
            conns.append(ws)

        async def reader(ws) -> None:
            async for frame in ws:
                message = json.loads(frame)
                if message.get("type") == "event" and message.get("verb", "").startswith(
                    "enrolment."
                ):
                    received.setdefault(message["id"], []).append(time.perf_counter())

        tasks = [asyncio.create_task(reader(ws)) for ws in conns]
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.05)
        for ws in conns:
            await ws.close()
        await asyncio.gather(*tasks, return_exceptions=True)

    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.2)
    thread = threading.Thread(target=lambda: asyncio.run(sockets()), daemon=True)
    thread.start()
    if not ready.wait(120):
        sys.exit("sockets did not connect")

    sent: list[float] = []
    target = "suspended"
    try:
        for _ in range(args.writes):
            sent.append(time.perf_counter())
            enrolment_transition(actor=ops, enrolment=enrolment, to_status=target, reason="bench")
            target = "active" if target == "suspended" else "suspended"
            time.sleep(0.1)
        time.sleep(2)
    finally:
        stop.set()
        thread.join(timeout=10)
        server.terminate()
        server.wait(timeout=10)

    ids = sorted(received, key=lambda i: tuple(int(p) for p in i.split("-")))
    latencies = [
        (t - start) * 1000
        for start, event_id in zip(sent, ids, strict=False)
        for t in received[event_id]
    ]
    delivered = sum(len(v) for v in received.values())
    expected = args.writes * args.n
    if not latencies:
        sys.exit("no event arrived")
    p95 = statistics.quantiles(latencies, n=20)[18]
    print(f"sockets {args.n}, writes {args.writes}, deliveries {delivered}/{expected}")
    print(
        f"write → socket latency: p50 {statistics.median(latencies):.1f} ms, p95 {p95:.1f} ms, "
        f"max {max(latencies):.1f} ms"
    )
    print(f"RESULT live {p95:.1f} ms")


if __name__ == "__main__":
    main()
