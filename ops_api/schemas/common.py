"""Shared schema pieces: money as 2-place decimal strings, list pages, read models."""

from decimal import Decimal
from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, StringConstraints

# Exact money: at most 10 digits before the point, 2 after; positive amounts say so where needed.
Money = Annotated[
    Decimal,
    Field(max_digits=12, decimal_places=2, examples=["125.00"]),
    PlainSerializer(lambda d: f"{d:.2f}", return_type=str, when_used="json"),
]
PositiveMoney = Annotated[Money, Field(gt=0)]
NonNegativeMoney = Annotated[Money, Field(ge=0)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int


class ReadModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class StrictInput(BaseModel):
    """Unknown fields are an error, not silently dropped: a typo must not lose data."""

    model_config = ConfigDict(extra="forbid")


class Address(StrictInput):
    line1: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    line2: Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=200)] = None
    city: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    state: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Z]{2}$")]
    postal_code: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\d{5}(-\d{4})?$")]
