"""Encounters routes (see API.md)."""

from fastapi import APIRouter

router = APIRouter(tags=["encounters"])
