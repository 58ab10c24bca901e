"""OAuth2 password flow, sign-out, and the caller's own profile."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import delete

from ops_api import audit
from ops_api.api.deps import SessionDep, allow, route_template, token_claims
from ops_api.models.infra import RevokedToken
from ops_api.models.types import utcnow
from ops_api.schemas.users import Token, UserPublic
from ops_api.security import create_access_token
from ops_api.services.users import authenticate
from pms.settings import get_settings

router = APIRouter(prefix="/auth", tags=["auth"])


def _audit_sign_in(session, request: Request, action: str, status_code: int, username: str, user=None) -> None:
    """Sign-ins are part of the audit trail (HIPAA log-in monitoring), failed ones included."""
    audit.record(session, action=action, route=route_template(request), method=request.method,
                 status_code=status_code, username=username, user_id=user.id if user else None,
                 role=user.role.value if user else None, client_addr=request.client.host if request.client else None,
                 request_id=getattr(request.state, "request_id", None))
    session.commit()


@router.post("/token", response_model=Token,
             responses={401: {"description": "incorrect username or password"},
                        429: {"description": "too many failed sign-ins for this username or address; "
                                             "see Retry-After"}})
def login(request: Request, session: SessionDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    limiter = request.app.state.login_limiter
    client = request.client.host if request.client else None
    if (wait := limiter.retry_after(form.username, client)) is not None:
        _audit_sign_in(session, request, "login_locked", 429, form.username)
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "too many failed sign-ins; try again later",
                            headers={"Retry-After": str(wait)})
    user = authenticate(session, form.username, form.password)
    if user is None:
        limiter.failed(form.username, client)
        _audit_sign_in(session, request, "login_failed", 401, form.username)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "incorrect username or password",
                            headers={"WWW-Authenticate": "Bearer"})
    limiter.succeeded(form.username)
    _audit_sign_in(session, request, "login", 200, user.username, user)
    return Token(access_token=create_access_token(user.id, user.role.value),
                 expires_in=get_settings().access_token_minutes * 60)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(session: SessionDep, _: allow("self:read"), claims: Annotated[dict, Depends(token_claims)]) -> Response:
    """Revoke this token now rather than at its expiry; expired revocations are pruned on the way."""
    session.execute(delete(RevokedToken).where(RevokedToken.expires_at < utcnow()))
    session.add(RevokedToken(jti=claims["jti"], expires_at=datetime.fromtimestamp(claims["exp"], UTC)))
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=UserPublic)
def me(principal: allow("self:read")):
    return principal.user
