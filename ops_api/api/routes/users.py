"""`admin/users`: staff accounts and roles (admin only)."""

import uuid

from fastapi import APIRouter, status
from sqlalchemy import select

from ops_api.api.deps import SessionDep, allow
from ops_api.api.pagination import PageDep, paginate
from ops_api.errors import NotFound
from ops_api.models import User
from ops_api.schemas.common import Page
from ops_api.schemas.users import UserCreate, UserPublic, UserUpdate
from ops_api.services import users as svc
from pms.enums import Role

router = APIRouter(prefix="/admin/users", tags=["admin"])
Admin = allow("users:admin")


@router.get("", response_model=Page[UserPublic])
def list_users(session: SessionDep, _: Admin, page: PageDep, role: Role | None = None):
    query = select(User).order_by(User.username)
    if role is not None:
        query = query.where(User.role == role)
    return paginate(session, query, page)


@router.post("", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
def create_user(session: SessionDep, _: Admin, data: UserCreate):
    user = svc.create_user(session, data)
    session.commit()
    return user


@router.get("/{user_id}", response_model=UserPublic)
def get_user(session: SessionDep, _: Admin, user_id: uuid.UUID):
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user


@router.patch("/{user_id}", response_model=UserPublic)
def update_user(session: SessionDep, _: Admin, user_id: uuid.UUID, data: UserUpdate):
    user = svc.update_user(session, user_id, data)
    session.commit()
    return user
