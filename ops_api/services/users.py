"""Staff accounts."""

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from ops_api.errors import Conflict, Invalid, NotFound
from ops_api.models import Facility, Provider, User
from ops_api.schemas.users import UserCreate, UserUpdate
from ops_api.security import hash_password, verify_password
from pms.enums import Role

# Verified against when the username is unknown, so both failures take the same time.
_DUMMY_HASH = hash_password("timing-equaliser-not-a-password-1")


def _check_refs(session: Session, role: Role | None, facility_ids, provider_id) -> None:
    problems = []
    if facility_ids:
        found = set(session.scalars(select(Facility.id).where(Facility.id.in_(facility_ids))))
        problems += [(("body", "facility_ids"), f"unknown facility {f}") for f in facility_ids if f not in found]
    if provider_id is not None and session.get(Provider, provider_id) is None:
        problems.append((("body", "provider_id"), f"unknown provider {provider_id}"))
    if role == Role.physician and provider_id is None:
        problems.append((("body", "provider_id"), "a physician user must be linked to their provider record"))
    if problems:
        raise Invalid(problems)


def create_user(session: Session, data: UserCreate) -> User:
    if session.scalar(select(User.id).where(User.username == data.username)):
        raise Conflict(f"username {data.username!r} is taken")
    _check_refs(session, data.role, data.facility_ids, data.provider_id)
    user = User(username=data.username, password_hash=hash_password(data.password), role=data.role,
                facility_ids=[str(f) for f in data.facility_ids], provider_id=data.provider_id)
    session.add(user)
    session.flush()
    return user


def update_user(session: Session, user_id: uuid.UUID, data: UserUpdate) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    changes = data.model_dump(exclude_unset=True)
    _check_refs(session, changes.get("role", user.role), changes.get("facility_ids"),
                changes.get("provider_id", user.provider_id))
    for key, value in changes.items():
        if key == "facility_ids":
            value = [str(f) for f in value or []]
        if value is None and key in {"role", "active"}:
            raise Invalid([(("body", key), f"{key} cannot be null")])
        setattr(user, key, value)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        verify_password(password, _DUMMY_HASH)
        return None
    if not user.active or not verify_password(password, user.password_hash):
        return None
    return user
