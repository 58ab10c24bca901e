"""Login, tokens and the user admin routes."""

from datetime import timedelta

import jwt

from ops_api.models.types import utcnow
from pms.settings import get_settings

TOKEN = "/api/v1/auth/token"


def test_login_and_me(client, make):
    make.user("biller")
    user = make.user("front_desk")
    r = client.post(TOKEN, data={"username": user.username, "password": "correct-horse-9"})
    assert r.status_code == 200 and r.json()["token_type"] == "bearer"
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"})
    assert me.status_code == 200 and me.json()["role"] == "front_desk"


def test_bad_credentials_and_tokens_are_401(client, make):
    user = make.user("biller")
    assert client.post(TOKEN, data={"username": user.username, "password": "wrong-password-1"}).status_code == 401
    assert client.post(TOKEN, data={"username": "nobody", "password": "wrong-password-1"}).status_code == 401
    assert client.get("/api/v1/patients").status_code == 401
    assert client.get("/api/v1/patients", headers={"Authorization": "Bearer garbage"}).status_code == 401
    key = get_settings().pms_secret_key.get_secret_value()
    expired = jwt.encode({"sub": str(user.id), "exp": utcnow() - timedelta(minutes=1)}, key, algorithm="HS256")
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {expired}"}).status_code == 401
    forged = jwt.encode({"sub": str(user.id), "exp": utcnow() + timedelta(minutes=5)}, "x" * 40, algorithm="HS256")
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_inactive_user_cannot_use_token(client, admin, auth, make):
    headers = auth("biller")
    me = client.get("/api/v1/auth/me", headers=headers).json()
    assert client.patch(f"/api/v1/admin/users/{me['id']}", json={"active": False}, headers=admin).status_code == 200
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_admin_creates_users_with_password_policy(client, admin, make):
    facility = make.facility()
    body = {"username": "frank", "password": "long-enough-pass-7", "role": "front_desk",
            "facility_ids": [str(facility.id)]}
    r = client.post("/api/v1/admin/users", json=body, headers=admin)
    assert r.status_code == 201 and r.json()["facility_ids"] == [str(facility.id)]
    assert client.post("/api/v1/admin/users", json=body, headers=admin).status_code == 409
    for password in ["short1!", "a" * 20, "1" * 20]:
        r = client.post("/api/v1/admin/users", json={**body, "username": "g1", "password": password}, headers=admin)
        assert r.status_code == 422, password
    r = client.post("/api/v1/admin/users", json={**body, "username": "doc", "role": "physician"}, headers=admin)
    assert r.status_code == 422  # a physician must be linked to a provider
    assert "password_hash" not in client.get("/api/v1/admin/users", headers=admin).text
