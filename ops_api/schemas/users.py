"""Users and tokens."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import StringConstraints, field_validator

from ops_api.schemas.common import ReadModel, StrictInput
from pms.enums import Role

Username = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=100,
                                            pattern=r"^[A-Za-z0-9_.@\-]+$")]


def password_problem(password: str) -> str | None:
    """Length over composition (NIST SP 800-63B): 12+ characters, not all one class."""
    if len(password) < 12:
        return "password must be at least 12 characters"
    if len(password) > 128:
        return "password must be at most 128 characters"
    if password.isdigit() or password.isalpha():
        return "password must mix letters with digits or symbols"
    return None


class UserCreate(StrictInput):
    username: Username
    password: str
    role: Role
    facility_ids: list[uuid.UUID] = []
    provider_id: uuid.UUID | None = None

    @field_validator("password")
    @classmethod
    def _password(cls, v: str) -> str:
        if problem := password_problem(v):
            raise ValueError(problem)
        return v


class UserUpdate(StrictInput):
    role: Role | None = None
    facility_ids: list[uuid.UUID] | None = None
    provider_id: uuid.UUID | None = None
    active: bool | None = None


class UserPublic(ReadModel):
    id: uuid.UUID
    username: str
    role: Role
    facility_ids: list[uuid.UUID]
    provider_id: uuid.UUID | None
    active: bool
    created_at: datetime


class Token(StrictInput):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
