"""OAuth2 password flow and the caller's own profile."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.security import OAuth2PasswordRequestForm

from ops_api.api.deps import SessionDep, allow
from ops_api.schemas.users import Token, UserPublic
from ops_api.security import create_access_token
from ops_api.services.users import authenticate
from pms.settings import get_settings

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token", response_model=Token)
def login(session: SessionDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    user = authenticate(session, form.username, form.password)
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "incorrect username or password",
                            headers={"WWW-Authenticate": "Bearer"})
    return Token(access_token=create_access_token(user.id, user.role.value),
                 expires_in=get_settings().access_token_minutes * 60)


@router.get("/me", response_model=UserPublic)
def me(principal: allow("self:read")):
    return principal.user
