"""Abuse resistance: sign-in throttling, token revocation, headers, CORS, request size, request ids."""

import asyncio
import shutil
import socket
import subprocess
import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from fastapi import HTTPException
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ops_api.db import get_session, session_factory
from ops_api.main import create_app
from ops_api.middleware import RejectNulMiddleware
from ops_api.models import Patient
from ops_api.models.infra import RevokedToken
from ops_api.ratelimit import LoginLimiter, MemoryStore, RedisStore, limiter_from_settings
from ops_api.security import create_access_token
from pms.settings import Settings, get_settings

TOKEN, ME = "/api/v1/auth/token", "/api/v1/auth/me"
PASSWORD = "correct-horse-9"


def sign_in(client, username, password=PASSWORD):
    return client.post(TOKEN, data={"username": username, "password": password})


def test_five_failures_lock_the_username_with_retry_after(client, make):
    user, other = make.user("biller"), make.user("biller")
    for _ in range(5):
        assert sign_in(client, user.username, "wrong-password-1").status_code == 401
    locked = sign_in(client, user.username)  # even the right password, until the window ends
    assert locked.status_code == 429 and 0 < int(locked.headers["Retry-After"]) <= 900
    assert sign_in(client, user.username.upper()).status_code == 429  # the count ignores case
    assert sign_in(client, other.username).status_code == 200  # others are unaffected
    assert sign_in(client, "nobody-at-all", "wrong-password-1").status_code == 401


def test_many_failures_from_one_address_lock_it_for_every_username(client, make):
    users = [make.user("front_desk") for _ in range(21)]
    for user in users[:20]:  # credential stuffing: one try per username
        assert sign_in(client, user.username, "wrong-password-1").status_code == 401
    assert sign_in(client, users[20].username).status_code == 429


def test_a_successful_sign_in_clears_the_username_count():
    limiter = LoginLimiter(MemoryStore(), max_per_user=3, max_per_ip=100, window=60)
    for _ in range(2):
        limiter.failed("ann", "10.0.0.1")
    limiter.succeeded("ann")
    for _ in range(2):
        limiter.failed("ann", "10.0.0.1")
    assert limiter.retry_after("ann", "10.0.0.1") is None


def exercise(store, now=None) -> None:
    """The limiter contract, on any store: lock at the limit, per key, until the window ends."""
    limiter = LoginLimiter(store, max_per_user=3, max_per_ip=5, window=60)
    for _ in range(3):
        assert limiter.retry_after("bob", "10.0.0.2") is None
        limiter.failed("bob", "10.0.0.2")
    assert 0 < limiter.retry_after("bob", "10.0.0.2") <= 60
    assert limiter.retry_after("carol", "10.0.0.3") is None
    limiter.failed("carol", "10.0.0.2")
    limiter.failed("dave", "10.0.0.2")
    assert limiter.retry_after("erin", "10.0.0.2") is not None  # the address reached 5
    if now is not None:
        now[0] += 61
        assert limiter.retry_after("bob", "10.0.0.2") is None  # the window ended


def test_memory_store_windows_expire():
    now = [1000.0]
    exercise(MemoryStore(clock=lambda: now[0]), now)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    """A throwaway redis-server on a free port (the limiter's production backend)."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([server, "--port", str(port), "--save", "", "--appendonly", "no",
                             "--dir", str(tmp_path_factory.mktemp("redis"))], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        import redis

        for _ in range(100):
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_redis_store_has_the_same_contract(redis_url):
    limiter = limiter_from_settings(Settings(redis_url=redis_url))
    assert isinstance(limiter.store, RedisStore)
    limiter.store._redis.flushdb()
    exercise(limiter.store)
    assert 55 <= limiter.store.get("user:bob")[1] <= 60  # the window is a Redis TTL


def test_logout_revokes_only_that_token(client, make, db):
    user = make.user("front_desk")
    first, second = (sign_in(client, user.username).json()["access_token"] for _ in range(2))
    a, b = {"Authorization": f"Bearer {first}"}, {"Authorization": f"Bearer {second}"}
    db.add(RevokedToken(jti="stale", expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    db.commit()
    assert client.post("/api/v1/auth/logout", headers=a).status_code == 204
    assert client.get(ME, headers=a).status_code == 401
    assert client.get("/api/v1/patients", headers=a).status_code == 401
    assert client.post("/api/v1/auth/logout", headers=a).status_code == 401
    assert client.get(ME, headers=b).status_code == 200
    db.expire_all()
    jtis = list(db.scalars(select(RevokedToken.jti)))
    assert jtis == [jwt.decode(first, options={"verify_signature": False})["jti"]]  # the stale one pruned


def test_tokens_without_an_id_are_refused(client, make):
    user = make.user("biller")
    key = get_settings().pms_secret_key.get_secret_value()
    no_jti = jwt.encode({"sub": str(user.id), "exp": datetime.now(UTC) + timedelta(minutes=5)}, key, algorithm="HS256")
    assert client.get(ME, headers={"Authorization": f"Bearer {no_jti}"}).status_code == 401
    good = create_access_token(user.id, "biller")
    assert client.get(ME, headers={"Authorization": f"Bearer {good}"}).status_code == 200


def test_security_headers_on_api_errors_and_docs(client, admin):
    for path, headers in ((ME, admin), (ME, {}), ("/api/v1/patients/not-a-uuid", admin)):
        r = client.get(path, headers=headers)
        assert r.headers["X-Content-Type-Options"] == "nosniff" and r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["Referrer-Policy"] == "no-referrer" and r.headers["Cache-Control"] == "no-store"
        assert r.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    docs = client.get("/docs")
    assert docs.status_code == 200 and "cdn.jsdelivr.net" in docs.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in docs.headers["Content-Security-Policy"]


def test_request_ids_are_echoed_or_made_up(client):
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123.X_y:z"}).headers["X-Request-ID"] == "abc-123.X_y:z"
    for bad in ("x" * 65, "has space", "new\tline", ""):
        made_up = client.get("/healthz", headers={"X-Request-ID": bad}).headers["X-Request-ID"]
        assert made_up != bad and len(made_up) == 32


@pytest.fixture
def app_with(backend, monkeypatch):
    """`app_with(CORS_ORIGINS=...)`: a fresh app built under other settings, on the test's store."""
    def build(**env) -> TestClient:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        app = create_app()
        factory = session_factory(backend.engine)

        def _session():
            with factory() as session:
                yield session

        app.dependency_overrides[get_session] = _session
        return TestClient(app)

    yield build
    monkeypatch.undo()
    get_settings.cache_clear()


def test_cors_allows_only_configured_origins(client, app_with):
    preflight = {"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"}
    default = client.options(ME, headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in default.headers  # none configured: no cross-origin use at all
    configured = app_with(CORS_ORIGINS="https://staff.example.org, https://ops.example.org")
    ok = configured.options(ME, headers={"Origin": "https://ops.example.org", **preflight})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == "https://ops.example.org"
    denied = configured.options(ME, headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in denied.headers
    assert "x-request-id" in configured.get(ME, headers={"Origin": "https://ops.example.org"}).headers[
        "access-control-expose-headers"].lower()


def test_oversized_bodies_are_413_declared_or_streamed(client, admin, make, db, app_with):
    facility = make.facility()
    big = b'{"first_name": "' + b"a" * (1024 * 1024) + b'"}'
    r = client.post("/api/v1/patients", content=big, headers={**admin, "Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["detail"].startswith("request body larger") and r.headers["X-Request-ID"]

    def chunks():
        for _ in range(20):
            yield b"a" * 65536

    r = client.post("/api/v1/patients", content=chunks(), headers={**admin, "Content-Type": "application/json"})
    assert r.status_code == 413
    r = client.post(TOKEN, content=b"username=" + b"u" * (1024 * 1024) + b"&password=x",
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413
    small = app_with(MAX_REQUEST_BYTES="200")
    body = {"first_name": "Al", "last_name": "Small", "date_of_birth": "1990-01-01", "sex": "M",
            "facility_id": str(facility.id)}
    assert small.post("/api/v1/patients", json=body, headers=admin).status_code == 201
    assert small.post("/api/v1/patients?allow_duplicate=true", json={**body, "phone": "555-000-0000" + " " * 90},
                      headers=admin).status_code == 413
    assert db.scalar(select(func.count()).select_from(Patient)) == 1


def test_nul_characters_are_refused_in_query_body_and_form(client, admin, make, db):
    body = {"first_name": "Nu", "last_name": "Ll", "date_of_birth": "1990-01-01", "sex": "F",
            "facility_id": str(make.facility().id)}
    url = "/api/v1/patients"
    assert client.get(url, params={"q": "a\x00b"}, headers=admin).status_code == 400
    assert client.post(url, json={**body, "first_name": "A\x00"}, headers=admin).status_code == 400
    assert client.post(TOKEN, data={"username": "a\x00", "password": "x"}).status_code == 400

    assert db.scalar(select(func.count()).select_from(Patient)) == 0
    ok = client.post(url, json={**body, "last_name": "100%00 literal"}, headers=admin)  # only forms encode NUL so
    assert ok.status_code == 201 and ok.json()["last_name"] == "100%00 literal"


def test_a_nul_escape_split_across_body_chunks_is_still_seen():
    chunks = [b'{"first_name": "A\\u00', b'00", "last_name": "B"}']

    async def receive():
        body = chunks.pop(0)
        return {"type": "http.request", "body": body, "more_body": bool(chunks)}

    async def read_all(scope, receive, send):
        while (await receive())["more_body"]:
            pass

    scope = {"type": "http", "path": "/api/v1/patients", "query_string": b"",
             "headers": [(b"content-type", b"application/json")]}
    with pytest.raises(HTTPException) as refused:
        asyncio.run(RejectNulMiddleware(read_all)(scope, receive, None))
    assert refused.value.status_code == 400
