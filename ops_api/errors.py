"""Domain errors raised by services; the app turns each into one HTTP status (see API.md)."""

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


class DomainError(Exception):
    status_code = 400

    def __init__(self, message: str, **extra):
        super().__init__(message)
        self.message = message
        self.extra = extra

    def body(self) -> dict:
        return {"detail": self.message, **self.extra}


class NotFound(DomainError):
    status_code = 404


class Forbidden(DomainError):
    status_code = 403


class Conflict(DomainError):
    status_code = 409


class Invalid(DomainError):
    """422 with every problem found, in FastAPI's own per-field shape."""

    status_code = 422

    def __init__(self, problems: list[tuple[tuple, str]]):
        super().__init__("; ".join(msg for _, msg in problems))
        self.problems = problems

    def body(self) -> dict:
        return {"detail": [{"loc": list(loc), "msg": msg, "type": "value_error"} for loc, msg in self.problems]}


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status_code)
