"""The FastAPI application."""

from fastapi import FastAPI

from ops_api.api.router import api_router
from ops_api.errors import install_handlers


def create_app() -> FastAPI:
    app = FastAPI(
        title="Spark Den PMS — operational API",
        version="1.0.0",
        description="Patients, scheduling, insurance, claims and payments. Contract: API.md.",
    )
    install_handlers(app)
    app.include_router(api_router)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict:
        return {"status": "ok"}

    return app


app = create_app()
