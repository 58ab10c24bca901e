"""`?limit=&offset=` as API.md says (default 50, max 500), and the `{items, total}` page."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session


@dataclass
class PageParams:
    limit: int
    offset: int


def page_params(
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> PageParams:
    return PageParams(limit, offset)


PageDep = Annotated[PageParams, Depends(page_params)]


def paginate(session: Session, query: Select, params: PageParams) -> dict:
    """Run `query` for one page, plus its total count (same filters, no order/limit)."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    items = session.scalars(query.limit(params.limit).offset(params.offset)).all()
    return {"items": items, "total": total}
