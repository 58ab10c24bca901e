"""Sign-in through the operational API, and what each role may see.

The dashboards never read the operational DB (ARCHITECTURE.md), so they cannot check a password
themselves: they ask the API (``POST /api/v1/auth/token``, then ``GET /api/v1/auth/me`` for the role
and facilities). The API's lock-out after failed sign-ins and its audit of sign-ins apply unchanged.
A session lasts as long as the API's token, then asks for the password again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from dashboards.config import get_dashboard_settings

DASHBOARD_ROLES = frozenset({"admin", "executive", "analyst"})
SQL_ROLES = frozenset({"admin", "analyst"})  # API.md: analysts run read-only SQL on the marts
CLAIM_ID_ROLES = frozenset({"admin"})  # executives and analysts see aggregates only


class SignInError(Exception):
    """A sign-in that failed; the message is meant for the person signing in."""


@dataclass(frozen=True)
class Viewer:
    """The signed-in user, as the API describes them."""

    user_id: str
    username: str
    role: str
    facility_ids: tuple[str, ...]  # empty: every facility (API.md: no facility means all)
    token: str
    expires_at: float  # time.time() when the API token expires

    @property
    def expired(self) -> bool:
        return time.time() >= self.expires_at

    @property
    def facility_scoped(self) -> bool:
        return bool(self.facility_ids)

    @property
    def may_see_claim_ids(self) -> bool:
        return self.role in CLAIM_ID_ROLES

    @property
    def may_run_sql(self) -> bool:
        """Free SQL cannot be confined to some facilities, so only unscoped analysts and admins get it."""
        return self.role in SQL_ROLES and not self.facility_scoped


def _http(base_url: str) -> httpx.Client:
    settings = get_dashboard_settings()
    loopback = urlsplit(base_url).hostname in ("127.0.0.1", "localhost", "::1")
    # A loopback API must not be sent through an HTTP proxy from the environment.
    return httpx.Client(base_url=base_url.rstrip("/"), timeout=settings.dashboards_api_timeout_seconds,
                        trust_env=not loopback)


def sign_in(username: str, password: str, api_url: str | None = None) -> Viewer:
    """Exchange a username and password for a Viewer; raise SignInError with a readable reason."""
    base = api_url or get_dashboard_settings().pms_api_url
    if not username.strip() or not password:
        raise SignInError("Enter your username and password.")
    try:
        with _http(base) as http:
            response = http.post("/api/v1/auth/token", data={"username": username.strip(), "password": password})
            if response.status_code == 401:
                raise SignInError("Incorrect username or password.")
            if response.status_code == 429:
                wait = response.headers.get("Retry-After", "a few")
                raise SignInError(f"Too many failed sign-ins. Try again in {wait} seconds.")
            response.raise_for_status()
            token = response.json()
            me = http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token['access_token']}"})
            me.raise_for_status()
            user = me.json()
    except httpx.HTTPError as exc:
        raise SignInError(f"The sign-in service at {base} is not answering ({type(exc).__name__}).") from exc
    if not user.get("active", True):
        raise SignInError("This account is deactivated.")
    if user["role"] not in DASHBOARD_ROLES:
        raise SignInError(
            f"Your role ({user['role']}) does not include the analytics dashboards. They are for executives, "
            "analysts and administrators; ask an administrator if you need access.")
    return Viewer(
        user_id=str(user["id"]), username=user["username"], role=user["role"],
        facility_ids=tuple(sorted(str(f) for f in user.get("facility_ids") or ())),
        token=token["access_token"], expires_at=time.time() + float(token.get("expires_in") or 3600),
    )


def sign_out(viewer: Viewer, api_url: str | None = None) -> None:
    """Revoke the API token now (best effort: the session is dropped locally either way)."""
    base = api_url or get_dashboard_settings().pms_api_url
    try:
        with _http(base) as http:
            http.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {viewer.token}"})
    except httpx.HTTPError:
        pass
