"""A provider's rate limit, for the loopback server: `LoopbackServer(rate_limit={"rpm": 600, "tpm": 100_000})`.

Enforced the strict way: per second, as providers may quantize a per-minute limit (a bucket of `burst` seconds'
worth, refilled continuously at the limit / 60), and per minute (never more than the limit in any 60 s window).
A request over either is answered 429 with Retry-After and OpenAI's x-ratelimit headers, and nothing of the
script is used. Tokens are what each reply reports (prompt + completion), counted when it is sent: a request is
refused while the token bucket is in debt. `stats()` says what the server let through, for benchmarks.
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Any

from ..errors import UserError


class ServerRateLimit:
    """Requests and tokens per minute, as a provider enforces them (see the module docstring)."""

    def __init__(self, rpm: float | None = None, tpm: float | None = None, burst: float = 1.0) -> None:
        if rpm is None and tpm is None:
            raise UserError("rate_limit needs 'rpm', 'tpm' or both, e.g. LoopbackServer(rate_limit={'rpm': 600}).")
        self.limits = {"requests": rpm, "tokens": tpm}
        self.burst = burst
        started = time.monotonic()
        # Bucket levels (requests, tokens) at `self.at`; full at the start.
        self.level = {kind: (limit / 60 * burst if limit else 0.0) for kind, limit in self.limits.items()}
        self.at = started
        self.window: collections.deque[list] = collections.deque()  # [time, tokens] of each request in the last 60 s
        self.accepted: list[list] = []  # every request let through: [time.monotonic(), tokens]
        self.refused = 0
        self.lock = threading.Lock()

    def admit(self) -> tuple[dict[str, str] | None, list]:
        """Take one request: (None, its entry), or refuse it: (the 429's headers, [])."""
        with self.lock:
            now = self._refill()
            while self.window and self.window[0][0] <= now - 60:
                self.window.popleft()
            waits = {kind: self._wait(kind, now) for kind, limit in self.limits.items() if limit}
            if any(wait > 0 for wait in waits.values()):
                self.refused += 1
                return self._headers(waits), []
            if self.limits["requests"]:
                self.level["requests"] -= 1
            entry = [now, 0]
            self.window.append(entry)
            self.accepted.append(entry)
            return None, entry

    def charge(self, entry: list, tokens: int) -> None:
        """The reply to an admitted request is sent: count its tokens."""
        with self.lock:
            self._refill()
            if self.limits["tokens"]:
                self.level["tokens"] -= tokens
            entry[1] = tokens

    def _refill(self) -> float:
        now = time.monotonic()
        for kind, limit in self.limits.items():
            if limit:
                self.level[kind] = min(limit / 60 * self.burst, self.level[kind] + (now - self.at) * limit / 60)
        self.at = now
        return now

    def _wait(self, kind: str, now: float) -> float:
        """Seconds until one more request of this kind may go: the bucket, then the 60 s window."""
        limit = self.limits[kind]
        need = 1.0 if kind == "requests" else 0.0  # tokens: refused only while the bucket is in debt
        bucket = max(0.0, (need - self.level[kind]) / (limit / 60))
        used = len(self.window) if kind == "requests" else sum(tokens for _, tokens in self.window)
        minute = (self.window[0][0] + 60 - now) if self.window and used >= limit else 0.0
        return max(bucket, minute)

    def _headers(self, waits: dict[str, float]) -> dict[str, str]:
        wait = max(waits.values())
        headers = {"Retry-After": f"{wait:.3f}"}
        for kind, limit in self.limits.items():
            if limit:
                headers[f"x-ratelimit-limit-{kind}"] = str(int(limit))
                headers[f"x-ratelimit-remaining-{kind}"] = "0" if waits.get(kind, 0) > 0 else str(
                    max(0, int(self.level[kind])))
                headers[f"x-ratelimit-reset-{kind}"] = f"{int(waits.get(kind, 0) * 1000)}ms"
        return headers

    def stats(self) -> dict[str, Any]:
        """What the server let through: requests, refusals, and the busiest 60 s and 1 s windows."""
        with self.lock:
            times = [entry[0] for entry in self.accepted]
            tokens = [entry[1] for entry in self.accepted]
        return {"requests": len(times), "refused": self.refused, "tokens": sum(tokens),
                "peak_requests_60s": _peak(times, [1] * len(times), 60.0),
                "peak_tokens_60s": _peak(times, tokens, 60.0),
                "peak_requests_1s": _peak(times, [1] * len(times), 1.0)}


def _peak(times: list[float], amounts: list[int], width: float) -> int:
    """The largest sum of `amounts` whose times fit in one window of `width` seconds."""
    best = total = start = 0
    for end in range(len(times)):
        total += amounts[end]
        while times[end] - times[start] >= width:
            total -= amounts[start]
            start += 1
        best = max(best, total)
    return best
