"""`RedisSession`: sessions in Redis, shared by many processes and machines. Needs `pip install agentsilex[redis]`.

    session = RedisSession("chat-42", url="redis://localhost:6379/0")

Layout, under a key prefix: `<prefix>:<id>:messages` (a list, one row per message, "<version>|<json>"),
`<prefix>:<id>:state` (a hash), `<prefix>:<id>:lock` (the writer lease), `<prefix>:sessions` (a set of ids).
"""

from __future__ import annotations

import uuid
from typing import Any, Callable

from ..errors import UserError
from . import codec
from .base import DEFAULT_LOCK_TIMEOUT, PersistentSession, _check_id
from .locking import poll

# Delete the lease only if it is still ours (it may have expired and been taken by another run).
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"


class RedisSession(PersistentSession):
    """A session in Redis. Pass `url=` or a ready `client=` (a `redis.Redis`)."""

    def __init__(self, session_id: str, *, url: str = "redis://localhost:6379/0", client: Any = None,
                 prefix: str = "agentsilex", lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
                 lock_lease: float = 120.0) -> None:
        self.session_id = _check_id(session_id)
        self.lock_timeout = lock_timeout
        # The writer lock is a lease: a crashed run frees it after `lock_lease` s; every write renews it.
        self.lock_lease = lock_lease
        self.prefix = prefix
        self._client = client if client is not None else _connect(url)
        self._key = f"{prefix}:{session_id}"
        self._token: str | None = None

    def _rows(self) -> list[tuple[int, Any, Any]]:
        rows = []
        for index, raw in enumerate(self._client.lrange(self._key + ":messages", 0, -1)):
            version, _, text = raw.partition(b"|")
            rows.append((index, int(version) if version.isdigit() else version, text))
        return rows

    def _load(self) -> list[dict]:
        return self._decode_rows(self._rows())

    def _count(self) -> int:
        return self._client.llen(self._key + ":messages")

    def _append(self, texts: list[str]) -> None:
        pipe = self._client.pipeline(transaction=True)  # MULTI/EXEC: the batch lands whole or not at all
        pipe.rpush(self._key + ":messages", *[_row(text) for text in texts])
        pipe.sadd(f"{self.prefix}:sessions", self.session_id)
        if self._token is not None:
            pipe.eval(_RENEW, 1, self._key + ":lock", self._token, int(self.lock_lease * 1000))
        pipe.execute()

    def _truncate(self, keep: int) -> None:
        if keep == 0:
            self._client.delete(self._key + ":messages")
        else:
            self._client.ltrim(self._key + ":messages", 0, keep - 1)

    def _replace(self, texts: list[str]) -> None:
        pipe = self._client.pipeline(transaction=True)
        pipe.delete(self._key + ":messages")
        if texts:
            pipe.rpush(self._key + ":messages", *[_row(text) for text in texts])
            pipe.sadd(f"{self.prefix}:sessions", self.session_id)
        pipe.execute()

    def _clear(self) -> None:
        pipe = self._client.pipeline(transaction=True)
        pipe.delete(self._key + ":messages", self._key + ":state")
        pipe.srem(f"{self.prefix}:sessions", self.session_id)
        pipe.execute()

    def _ids(self) -> list[str]:
        return [raw.decode("utf-8") for raw in self._client.smembers(f"{self.prefix}:sessions")]

    def _sibling(self, session_id: str) -> RedisSession:
        return RedisSession(session_id, client=self._client, prefix=self.prefix, lock_timeout=self.lock_timeout,
                            lock_lease=self.lock_lease)

    def _get_state(self, key: str) -> str | None:
        raw = self._client.hget(self._key + ":state", key)
        return None if raw is None else raw.decode("utf-8")

    def _set_state(self, key: str, text: str | None) -> None:
        if text is None:
            self._client.hdel(self._key + ":state", key)
            return
        pipe = self._client.pipeline(transaction=True)
        pipe.hset(self._key + ":state", key, text)
        pipe.sadd(f"{self.prefix}:sessions", self.session_id)
        pipe.execute()

    def _state_items(self) -> list[tuple[str, Any]]:
        keys = self._client.hkeys(self._key + ":state")
        return [(key.decode("utf-8"), self.get_state(key.decode("utf-8"))) for key in keys]

    def _acquire(self, timeout: float) -> Callable[[], None]:
        token, lock_key = uuid.uuid4().hex, self._key + ":lock"
        lease_ms = int(self.lock_lease * 1000)
        poll(lambda: bool(self._client.set(lock_key, token, nx=True, px=lease_ms)), timeout, self.session_id)
        self._token = token

        def release() -> None:
            self._token = None
            self._client.eval(_RELEASE, 1, lock_key, token)
        return release


def _row(text: str) -> bytes:
    return f"{codec.SCHEMA_VERSION}|{text}".encode("utf-8")


def _connect(url: str) -> Any:
    try:
        import redis
    except ImportError:
        raise UserError("RedisSession needs the redis package: pip install 'agentsilex[redis]'.") from None
    return redis.Redis.from_url(url)
