"""Operational API: the practice's system of record (FastAPI + SQLAlchemy 2 + Alembic)."""
