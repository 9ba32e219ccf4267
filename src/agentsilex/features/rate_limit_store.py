"""The rate limits' buckets shared by every process through Redis (`RateLimits(..., store="redis://...")`).

One Lua script does each operation atomically on a model's hash (the time each bucket is next empty), with Redis's
own clock, so processes on several machines agree on when each request may go: the same arithmetic as `step` in
rate_limits.py. Loaded only when a store is given. A Redis that does not answer (down, unreachable, slower than
half a second) is never a crash: the call falls back to the process's own buckets, with a warning, and Redis is
tried again a few seconds later.
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from typing import Any

from ..errors import UserError

RETRY_AFTER = 5.0  # seconds with per-process limits before Redis is tried again

SCRIPT = """
if redis.replicate_commands then redis.replicate_commands() end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local op, burst, amount = ARGV[1], tonumber(ARGV[4]), tonumber(ARGV[5])
local rates = {tonumber(ARGV[2]), tonumber(ARGV[3])}
local tats = {tonumber(redis.call('HGET', KEYS[1], 'r')) or now, tonumber(redis.call('HGET', KEYS[1], 't')) or now}
local wait, limit = 0, 'rpm'
if op == 'pause' then
  for i = 1, 2 do if rates[i] > 0 then tats[i] = math.max(tats[i], now + amount + burst) end end
  limit = '429'
elseif op == 'adjust' then
  if rates[2] > 0 then tats[2] = math.max(tats[2] + amount / rates[2], now - burst) end
  limit = 'tpm'
else
  local costs, waits = {1, amount}, {0, 0}
  for i = 1, 2 do
    if rates[i] > 0 then
      waits[i] = math.max(0, math.max(tats[i], now) - now - burst + math.min(costs[i] / rates[i], burst))
    end
  end
  wait = math.max(waits[1], waits[2])
  if wait > 0 and waits[2] > waits[1] then limit = 'tpm' end
  for i = 1, 2 do
    if rates[i] > 0 then tats[i] = math.max(tats[i], now + wait) + costs[i] / rates[i] end
  end
end
redis.call('HSET', KEYS[1], 'r', string.format('%.6f', tats[1]), 't', string.format('%.6f', tats[2]))
redis.call('EXPIRE', KEYS[1], math.ceil(math.max(tats[1], tats[2]) - now + burst + 60))
return {string.format('%.6f', wait), limit}
"""


class RedisBuckets:
    """Every model's buckets in Redis, under `agentsilex:ratelimit:<namespace>:<model>`."""

    def __init__(self, store: Any, namespace: str) -> None:
        if isinstance(store, str):
            try:
                import redis
            except ImportError:
                raise UserError("RateLimits(store='redis://...') needs the redis client: "
                                "pip install 'agentsilex[redis]'.") from None
            # Short timeouts: a Redis that hangs must not hold every model request (we fall back instead).
            store = redis.Redis.from_url(store, socket_timeout=0.5, socket_connect_timeout=0.5)
        if not callable(getattr(store, "register_script", None)):
            raise UserError(f"RateLimits(store=...) takes a Redis URL or a redis client, got {store!r:.80}.")
        self.client, self.script = store, store.register_script(SCRIPT)
        self.prefix = f"agentsilex:ratelimit:{namespace}:"
        self.down_until = 0.0
        self.lock = threading.Lock()

    def call(self, op: str, key: str, rates: list[float], burst: float, amount: float) -> tuple[float, str] | None:
        """The operation's (wait, limit), or None when Redis cannot answer now (use the process's buckets)."""
        if time.monotonic() < self.down_until:
            return None
        try:
            wait, limit = self.script(keys=[self.prefix + key], args=[op, rates[0], rates[1], burst, amount])
        except Exception as exc:  # any failure of the store: limits per process for a while, never a crash
            self._down(exc)
            return None
        if self.down_until:
            self.down_until = 0.0
            logging.getLogger("agentsilex").warning("Redis is back: rate limits are shared again.")
        return float(wait), limit.decode() if isinstance(limit, bytes) else str(limit)

    def _down(self, error: Exception) -> None:
        with self.lock:
            first = not self.down_until
            self.down_until = time.monotonic() + RETRY_AFTER
        if first:
            text = (f"Rate limits: the Redis store did not answer ({type(error).__name__}: {str(error)[:200]}); each "
                    f"process now limits on its own, so together they may exceed the limits. Redis is tried again "
                    f"every {RETRY_AFTER:g} s.")
            warnings.warn(text, RuntimeWarning, stacklevel=2)
            logging.getLogger("agentsilex").warning(text)
