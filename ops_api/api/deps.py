"""FastAPI dependencies: the DB session, the signed-in user, and the permission gate."""

import uuid
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from ops_api import audit
from ops_api.db import get_session
from ops_api.models import User
from ops_api.models.infra import RevokedToken
from ops_api.permissions import PERMISSIONS, allowed
from ops_api.principal import Principal
from ops_api.security import decode_access_token

SessionDep = Annotated[Session, Depends(get_session)]
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token")

UNAUTHORIZED = HTTPException(status.HTTP_401_UNAUTHORIZED, "not authenticated: missing, invalid or expired token",
                             headers={"WWW-Authenticate": "Bearer"})


def token_claims(token: Annotated[str, Depends(oauth2_scheme)]) -> dict:
    """The bearer token's verified claims (signature, expiry, subject, jti), else 401."""
    claims = decode_access_token(token)
    if claims is None:
        raise UNAUTHORIZED
    return claims


def current_user(request: Request, session: SessionDep, claims: Annotated[dict, Depends(token_claims)]) -> User:
    try:
        user = session.get(User, uuid.UUID(claims["sub"]))
    except ValueError:
        raise UNAUTHORIZED from None
    if user is None or not user.active or session.get(RevokedToken, claims["jti"]) is not None:
        raise UNAUTHORIZED
    # Who is calling, for the access log and for audit events of denied requests (ops_api/middleware.py).
    request.state.user = {"user_id": user.id, "username": user.username, "role": user.role.value}
    return user


def route_template(request: Request) -> str:
    return audit.route_template(request.scope)


class Allow:
    """Route gate: `Depends(Allow("patients:read"))` → the Principal, or 403 for other roles.

    The permission is kept on the dependency so tests can read every route's rule off the app.
    """

    def __init__(self, permission: str):
        if permission not in PERMISSIONS:
            raise KeyError(f"unknown permission {permission!r}")
        self.permission = permission

    def __call__(self, request: Request, user: Annotated[User, Depends(current_user)]) -> Principal:
        if not allowed(user.role, self.permission):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {user.role.value} may not use {self.permission}")
        return Principal(
            user=user,
            client_addr=request.client.host if request.client else None,
            request_id=getattr(request.state, "request_id", None),
            route=route_template(request),
            method=request.method,
        )


def allow(permission: str):
    return Annotated[Principal, Depends(Allow(permission))]
