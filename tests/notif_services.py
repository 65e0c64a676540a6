"""Real services for the notification tests: a redis-server and an SMTP sink (aiosmtpd) on free loopback ports
(the fixtures in notif_fixtures.py start and stop them), and helpers to run RQ workers, in this process or as real
`flask worker` processes that can be SIGKILLed."""
from __future__ import annotations

import asyncio
import email
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from pathlib import Path

from aiosmtpd.controller import Controller
from redis import Redis
from rq import SimpleWorker

from notifications import queue as nq
from workflow.db import db

ROOT = Path(__file__).resolve().parents[1]
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A throwaway redis-server. appendonly=False (`--save ''`) loses everything on restart, like the measured
    default; the outbox must not care."""

    def __init__(self, appendonly: bool = False) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="hoctap-redis-")
        self.appendonly = appendonly
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir, "--save", "",
                "--appendonly", "yes" if self.appendonly else "no", "--daemonize", "no", "--loglevel", "warning"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        client.close()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@dataclass
class Received:
    rcpt: str
    subject: str
    message_id: str
    body: str


@dataclass
class SinkHandler:
    """Stores every message accepted (DATA completed). `gate`, when set up, blocks the first MAIL FROM until
    released: a sender can be caught in the middle of a delivery."""

    messages: list[Received] = field(default_factory=list)
    gate: threading.Event | None = None
    entered: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802 (aiosmtpd API)
        if self.gate is not None and not self.entered.is_set():
            self.entered.set()
            await asyncio.get_running_loop().run_in_executor(None, self.gate.wait, 60)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        msg = email.message_from_bytes(envelope.content)
        subject = str(make_header(decode_header(msg["Subject"])))
        payload = msg.get_payload(decode=True)
        body = payload.decode(msg.get_content_charset() or "utf-8") if payload else ""
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.messages.append(Received(rcpt, subject, msg["Message-ID"], body))
        return "250 OK"

    def counts(self) -> Counter:
        with self.lock:
            return Counter((m.rcpt, m.message_id) for m in self.messages)


class SmtpSink:
    def __init__(self) -> None:
        self.port = free_port()
        self.handler = SinkHandler()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages


def work(queues: tuple[str, ...] = nq.QUEUES) -> bool:
    """Run every queued job in this process (SimpleWorker, burst), inside the test's app context."""
    conn = nq.connection()
    worker = SimpleWorker([nq.queue(n, conn) for n in queues], connection=conn, serializer=nq.SERIALIZER)
    ran = worker.work(burst=True, with_scheduler=False, logging_level="WARNING")
    db.session.rollback()  # end any read snapshot: see what the jobs committed
    return ran


def worker_env(app, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], REDIS_URL=app.config["REDIS_URL"],
               SMTP_HOST=str(app.config["SMTP_HOST"]), SMTP_PORT=str(app.config["SMTP_PORT"]),
               SECRET_KEY="test", NOTIFY_RETRY_INTERVALS="[0, 0]",
               NOTIFY_SEND_LEASE=str(app.config["NOTIFY_SEND_LEASE"]))
    env.update(extra)
    return env


def start_worker_process(app, *args: str, **env: str) -> subprocess.Popen:
    """A real `flask --app notifications.app worker` (the worker's own app, forking RQ Worker) in its own process
    group, so SIGKILL reaches the work horse too."""
    flask = str(Path(sys.executable).with_name("flask"))
    return subprocess.Popen([flask, "--app", "notifications.app", "worker", *args], cwd=ROOT,
                            env=worker_env(app, **env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)


def _descendants(pid: int) -> list[int]:
    """Every process below `pid` (RQ's work horse calls setpgrp, so a process-group kill would miss it)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the worker and everything it forked (its work horse), as a crash or the OOM killer would."""
    for pid in [*_descendants(proc.pid), proc.pid]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(10)
