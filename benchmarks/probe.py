"""A keep-alive HTTP prober: polls one URL and counts every answer on the way."""

from __future__ import annotations

import http.client
import time
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Probe:
    port: int
    host: str
    interval_s: float = 0.001
    codes: Counter[int] = field(default_factory=Counter)
    _conn: http.client.HTTPConnection | None = None

    def get(self, path: str) -> tuple[int, dict[str, str]]:
        """One GET; status 0 means the connection failed (counted like any other answer)."""
        for _attempt in range(2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            try:
                self._conn.request("GET", path, headers={"Host": self.host})
                resp = self._conn.getresponse()
                resp.read()
                headers = {k.lower(): v for k, v in resp.getheaders()}
                if headers.get("connection", "").lower() == "close":
                    self.close()
                return resp.status, headers
            except (OSError, http.client.HTTPException):
                # A stale keep-alive socket is retried once on a fresh one.
                self.close()
        return 0, {}

    def until(
        self,
        path: str,
        ok: tuple[str, str] | None = None,
        timeout: float = 30.0,
        since: float | None = None,
    ) -> tuple[float | None, Counter[int]]:
        """Seconds until `path` answers 200 (and header `ok`=(name, value) if given).

        `since` is the `perf_counter()` the clock started at (default: now). Returns (elapsed
        or None on timeout, the answers seen before success).
        """
        seen: Counter[int] = Counter()
        t0 = time.perf_counter() if since is None else since
        while True:
            status, headers = self.get(path)
            now = time.perf_counter()
            if status == 200 and (ok is None or headers.get(ok[0]) == ok[1]):
                return now - t0, seen
            seen[status] += 1
            self.codes[status] += 1
            if now - t0 > timeout:
                return None, seen
            time.sleep(self.interval_s)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
