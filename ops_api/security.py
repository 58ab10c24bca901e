"""Password hashing (argon2) and JWT access tokens."""

import uuid
from datetime import timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ops_api.models.types import utcnow
from pms.settings import get_settings

_hasher = PasswordHasher()
ALGORITHM = "HS256"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_access_token(user_id: uuid.UUID, role: str) -> str:
    settings = get_settings()
    now = utcnow()
    claims = {
        "sub": str(user_id),
        "role": role,
        "iat": now,
        "exp": now + timedelta(minutes=settings.access_token_minutes),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, settings.pms_secret_key.get_secret_value(), algorithm=ALGORITHM)


def decode_access_token(token: str) -> dict | None:
    """The token's claims, or None when it is forged, malformed, expired or has no id to revoke it by."""
    try:
        return jwt.decode(token, get_settings().pms_secret_key.get_secret_value(), algorithms=[ALGORITHM],
                          options={"require": ["sub", "exp", "jti"]})
    except jwt.PyJWTError:
        return None
