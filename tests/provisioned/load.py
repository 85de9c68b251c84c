"""A bounded HTTP load from the host through a Gateway's address, counting every failure.

Keep-alive connections, as wrk uses them: a response with `Connection: close` (a draining
Envoy) makes the client open a new connection, which is what every HTTP client does. Any
exception (refused, reset, timed out) or non-200 answer is a failure.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Load:
    host: str
    port: int
    connections: int = 4
    path: str = "/"
    ok: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> Load:
        for _ in range(self.connections):
            t = threading.Thread(target=self._run, daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(15)

    def run_for(self, seconds: float) -> None:
        """Keep the load on for `seconds` (bounded), then stop it."""
        time.sleep(seconds)
        self.stop()

    def _run(self) -> None:
        conn: http.client.HTTPConnection | None = None
        while not self._stop.is_set():
            if conn is None:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
            try:
                conn.request("GET", self.path)
                resp = conn.getresponse()
                resp.read()
                closing = resp.getheader("connection", "").lower() == "close"
                self._count(None if resp.status == 200 else f"HTTP {resp.status}")
            except (OSError, http.client.HTTPException) as exc:
                self._count(type(exc).__name__)
                closing = True
            if closing:
                conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def _count(self, failure: str | None) -> None:
        with self._lock:
            if failure is None:
                self.ok += 1
            else:
                self.failures[failure] += 1
