"""`RedisSession`: sessions in Redis, shared by many processes and machines. Needs `pip install -e '.[redis]'`.

    session = RedisSession("chat-42", url="redis://localhost:6379/0")

Layout, under a key prefix: `<prefix>:<id>:messages` (a list, one row per message, "<version>|<json>"),
`<prefix>:<id>:state` (a hash), `<prefix>:<id>:lock` (the writer lease), `<prefix>:sessions` (a set of ids),
`<prefix>:<id>:batch:<uuid>` (a few minutes: this append was stored, so a retried one is not stored twice).

A moment without Redis (a restart, a network blip) does not fail a run: every call is retried for up to
`retry_for` seconds (5 by default) before it becomes a `SessionUnavailableError`. An append whose answer was
lost is retried without being stored twice, and only while this run's lease holds (else SessionLockLostError).
"""

from __future__ import annotations

import threading
import time
import uuid
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from ..errors import UserError
from .base import SessionLockLostError, SessionUnavailableError
from . import codec
from .base import DEFAULT_LOCK_TIMEOUT, PersistentSession, _check_id
from .locking import poll

# Append only while the lease is still ours (or when no run holds one: plain appends), and renew it.
# A batch already stored (its answer was lost, and the call retried) is not stored again.
_APPEND = """
if redis.call('exists', KEYS[4]) == 1 then return 1 end
if ARGV[1] ~= '' then
  if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
  redis.call('pexpire', KEYS[1], ARGV[2])
end
for i = 5, #ARGV, 1000 do redis.call('rpush', KEYS[2], unpack(ARGV, i, math.min(i + 999, #ARGV))) end
redis.call('sadd', KEYS[3], ARGV[3])
redis.call('set', KEYS[4], '1', 'PX', ARGV[4])
return 1
"""
_BATCH_MEMORY_MS = 600_000  # how long a stored batch is remembered: far longer than any retry of it
# Delete the lease only if it is still ours (it may have expired and been taken by another run).
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
_RENEW = ("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) "
          "else return 0 end")


class RedisSession(PersistentSession):
    """A session in Redis. Pass `url=` or a ready `client=` (a `redis.Redis`)."""

    def __init__(self, session_id: str, *, url: str = "redis://localhost:6379/0", client: Any = None,
                 prefix: str = "agentsilex", lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
                 lock_lease: float = 15.0, retry_for: float = 5.0) -> None:
        self.session_id = _check_id(session_id)
        self.lock_timeout = lock_timeout
        # The writer lock is a lease, renewed every lock_lease/3 s by a heartbeat while the run lives, so a
        # long tool or model call keeps it; a crashed run's lease frees the session `lock_lease` s later.
        self.lock_lease = lock_lease
        self.retry_for = retry_for  # seconds a call is retried while Redis cannot be reached
        self.prefix = prefix
        self._client = client if client is not None else _connect(url)
        self._key = f"{prefix}:{session_id}"
        self._token: str | None = None
        self._append_script: Any = None

    def _read_since(self, rev: int | None, after: int) -> tuple[int, int, list[dict], int]:
        current, raws = self._read(after)
        if current != rev and after != -1:  # rewritten since: read it all
            after = -1
            current, raws = self._read(after)
        head = f"{codec.SCHEMA_VERSION}|".encode()
        ok = all(raw.startswith(head) for raw in raws)
        try:
            joined = b",".join(raw[len(head):] for raw in raws).decode("utf-8") if ok else None
        except UnicodeDecodeError:
            joined = None
        messages = self._decode_fast(joined, len(raws), ok, lambda: _rows(raws, after + 1))
        return current, after, messages, after + len(raws) if raws else -1

    def _retrying(self, call: Callable[[], Any]) -> Any:
        """call(), again while Redis cannot be reached, for up to `retry_for` s (a restart, a network blip)."""
        import redis

        deadline, pause = time.monotonic() + self.retry_for, 0.05
        while True:
            try:
                return call()
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                if time.monotonic() + pause > deadline:
                    raise
                time.sleep(pause)
                pause = min(2 * pause, 0.5)

    def _read(self, after: int) -> tuple[int, list[bytes]]:
        def read() -> list[Any]:
            pipe = self._client.pipeline(transaction=True)  # MULTI/EXEC: the revision and the rows agree
            pipe.get(self._key + ":rev")
            pipe.lrange(self._key + ":messages", after + 1, -1)
            return pipe.execute()
        rev, raws = self._retrying(read)
        return int(rev or 0), raws

    def _count(self) -> int:
        return self._retrying(lambda: self._client.llen(self._key + ":messages"))

    def _append(self, texts: list[str]) -> None:
        # One script: the batch lands whole, and only while this run's lease holds (a fencing check). Its id is the
        # same for every retry of this call, so a retry after a lost answer does not store it twice.
        if self._append_script is None:  # EVALSHA from the second call on
            self._append_script = self._client.register_script(_APPEND)
        keys = [self._key + ":lock", self._key + ":messages", f"{self.prefix}:sessions",
                f"{self._key}:batch:{uuid.uuid4().hex}"]
        args = [self._token or "", int(self.lock_lease * 1000), self.session_id, _BATCH_MEMORY_MS,
                *[_row(text) for text in texts]]
        stored = self._retrying(lambda: self._append_script(keys=keys, args=args))
        if not stored:
            raise SessionLockLostError(
                f"Session {self.session_id!r}: this run's writer lease expired or was taken by another run, so "
                "this step was not stored (two runs must never interleave). Run the prompt again; if a tool or "
                "model call blocks the process for long, raise RedisSession(lock_lease=...).")

    def _truncate(self, keep: int) -> None:
        def truncate() -> None:  # a retry repeats it whole: the same end state
            pipe = self._client.pipeline(transaction=True)
            if keep == 0:
                pipe.delete(self._key + ":messages")
            else:
                pipe.ltrim(self._key + ":messages", 0, keep - 1)
            pipe.incr(self._key + ":rev")  # every change but an append bumps the revision (see PersistentSession._load)
            pipe.execute()
        self._retrying(truncate)

    def _replace(self, texts: list[str]) -> None:
        def replace() -> None:
            pipe = self._client.pipeline(transaction=True)
            pipe.delete(self._key + ":messages")
            pipe.incr(self._key + ":rev")
            if texts:
                pipe.rpush(self._key + ":messages", *[_row(text) for text in texts])
                pipe.sadd(f"{self.prefix}:sessions", self.session_id)
            pipe.execute()
        self._retrying(replace)

    def _clear(self) -> None:
        def clear() -> None:
            pipe = self._client.pipeline(transaction=True)
            pipe.delete(self._key + ":messages", self._key + ":state")
            pipe.incr(self._key + ":rev")  # never reset: a stale cache must not match again
            pipe.srem(f"{self.prefix}:sessions", self.session_id)
            pipe.execute()
        self._retrying(clear)

    def _ids(self) -> list[str]:
        return [raw.decode("utf-8") for raw in self._retrying(lambda: self._client.smembers(f"{self.prefix}:sessions"))]

    def _sibling(self, session_id: str) -> RedisSession:
        return RedisSession(session_id, client=self._client, prefix=self.prefix, lock_timeout=self.lock_timeout,
                            lock_lease=self.lock_lease, retry_for=self.retry_for)

    def _get_state(self, key: str) -> str | None:
        raw = self._retrying(lambda: self._client.hget(self._key + ":state", key))
        return None if raw is None else raw.decode("utf-8")

    def _set_state(self, key: str, text: str | None) -> None:
        def store() -> None:
            pipe = self._client.pipeline(transaction=True)
            if text is None:
                pipe.hdel(self._key + ":state", key)
            else:
                pipe.hset(self._key + ":state", key, text)
                pipe.sadd(f"{self.prefix}:sessions", self.session_id)
            pipe.execute()
        self._retrying(store)

    def _state_items(self) -> list[tuple[str, Any]]:
        keys = self._retrying(lambda: self._client.hkeys(self._key + ":state"))
        return [(key.decode("utf-8"), self.get_state(key.decode("utf-8"))) for key in keys]

    def _claim(self, token: str) -> bool:
        # A retry after a lost answer finds its own claim and says "claimed before": at most once, never twice.
        return bool(self._retrying(lambda: self._client.hsetnx(f"{self.prefix}:claims", token, 1)))

    def _acquire(self, timeout: float) -> Callable[[], None]:
        token, lock_key = uuid.uuid4().hex, self._key + ":lock"
        lease_ms = int(self.lock_lease * 1000)

        def take() -> bool:  # a retry after a lost answer finds the lease already ours
            return bool(self._client.set(lock_key, token, nx=True, px=lease_ms)) or \
                self._client.get(lock_key) in (token, token.encode())
        poll(lambda: self._retrying(take), timeout, self.session_id)
        self._token = token
        stop = threading.Event()

        def heartbeat() -> None:
            while not stop.wait(self.lock_lease / 3):
                try:  # renewed as soon as Redis is back from a blip, not a beat later
                    if not self._retrying(lambda: self._client.eval(_RENEW, 1, lock_key, token, lease_ms)):
                        return  # lost: the next append refuses to write
                except Exception:  # Redis away for longer: the next beat (or the next append) tells
                    pass

        threading.Thread(target=heartbeat, name="agentsilex-redis-lease", daemon=True).start()

        def release() -> None:
            stop.set()
            self._token = None
            try:
                self._retrying(lambda: self._client.eval(_RELEASE, 1, lock_key, token))
            except Exception:  # never fail a run whose steps are stored: the lease expires by itself
                pass
        return release

    def _errors(self) -> Any:
        return _redis_errors(self.session_id, self.retry_for)


def _rows(raws: list[bytes], first: int) -> list[tuple[int, Any, Any]]:
    rows = []
    for index, raw in enumerate(raws, first):
        version, _, text = raw.partition(b"|")
        rows.append((index, int(version) if version.isdigit() else version, text))
    return rows


def _row(text: str) -> bytes:
    return f"{codec.SCHEMA_VERSION}|{text}".encode("utf-8")


@contextmanager
def _redis_errors(session_id: str, retried_for: float) -> Iterator[None]:
    import redis

    try:
        yield
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
        raise SessionUnavailableError(f"Cannot reach Redis for session {session_id!r} ({type(exc).__name__}, "
                                      f"retried for {retried_for:g} s); check that it runs and the URL. This call did "
                                      "not complete: run the prompt again once Redis is back.") from None


def _connect(url: str) -> Any:
    try:
        import redis
    except ImportError:
        raise UserError("RedisSession needs the redis package: pip install -e '.[redis]'.") from None
    # Bounded waits: a Redis that stops answering is an error after these (and retry_for), never a hang.
    return redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=30)
