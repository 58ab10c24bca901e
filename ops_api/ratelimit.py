"""Login throttling: failed sign-ins counted per username and per client address in a fixed window.

One interface, two stores: Redis when `REDIS_URL` is set (shared by every API process), else a
per-process dictionary. Once a key reaches its limit, sign-in is refused with 429 and Retry-After
until the window that began with its first failure ends, whether or not the password is right.
"""

import threading
import time
from dataclasses import dataclass
from typing import Protocol

from pms.settings import Settings


class Store(Protocol):
    def hit(self, key: str, window: int) -> int:
        """Count one failure; the first failure of a key starts its window. Returns the count."""

    def get(self, key: str) -> tuple[int, int]:
        """(failures, seconds until the window ends); (0, 0) when none are counted."""

    def clear(self, key: str) -> None: ...


class MemoryStore:
    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._counts: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def _live(self, key: str) -> tuple[int, float]:
        count, ends = self._counts.get(key, (0, 0.0))
        if ends <= self._clock():
            self._counts.pop(key, None)
            return 0, 0.0
        return count, ends

    def hit(self, key: str, window: int) -> int:
        with self._lock:
            count, ends = self._live(key)
            self._counts[key] = (count + 1, ends or self._clock() + window)
            return count + 1

    def get(self, key: str) -> tuple[int, int]:
        with self._lock:
            count, ends = self._live(key)
            return count, max(0, int(ends - self._clock() + 0.999))

    def clear(self, key: str) -> None:
        with self._lock:
            self._counts.pop(key, None)


class RedisStore:
    def __init__(self, client, prefix: str = "pms:login:"):
        self._redis = client
        self._prefix = prefix

    def hit(self, key: str, window: int) -> int:
        pipe = self._redis.pipeline()  # MULTI/EXEC: the window starts exactly once, at the first failure
        pipe.set(self._prefix + key, 0, ex=window, nx=True)
        pipe.incr(self._prefix + key)
        return int(pipe.execute()[1])

    def get(self, key: str) -> tuple[int, int]:
        pipe = self._redis.pipeline()
        pipe.get(self._prefix + key)
        pipe.ttl(self._prefix + key)
        count, ttl = pipe.execute()
        return (int(count), max(int(ttl), 1)) if count is not None else (0, 0)

    def clear(self, key: str) -> None:
        self._redis.delete(self._prefix + key)


@dataclass
class LoginLimiter:
    store: Store
    max_per_user: int = 5
    max_per_ip: int = 20
    window: int = 900

    def _keys(self, username: str, client: str | None) -> list[tuple[str, int]]:
        keys = [("user:" + username.strip().lower()[:200], self.max_per_user)]
        if client:
            keys.append(("ip:" + client, self.max_per_ip))
        return keys

    def retry_after(self, username: str, client: str | None) -> int | None:
        """Seconds the caller must wait before trying again, or None when sign-in may be attempted."""
        waits = []
        for key, limit in self._keys(username, client):
            count, ttl = self.store.get(key)
            if count >= limit:
                waits.append(max(ttl, 1))
        return max(waits, default=None)

    def failed(self, username: str, client: str | None) -> None:
        for key, _ in self._keys(username, client):
            self.store.hit(key, self.window)

    def succeeded(self, username: str) -> None:
        """A right password clears the username's count; the address keeps its count."""
        self.store.clear(self._keys(username, None)[0][0])


def limiter_from_settings(settings: Settings) -> LoginLimiter:
    if settings.redis_url:
        import redis

        store: Store = RedisStore(redis.Redis.from_url(settings.redis_url))
    else:
        store = MemoryStore()
    return LoginLimiter(store, settings.login_max_failures, settings.login_max_failures_per_ip,
                        settings.login_window_seconds)
