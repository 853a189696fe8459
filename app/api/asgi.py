"""ASGI entry for multi-worker uvicorn/gunicorn: `uvicorn app.api.asgi:app`."""

from app.api.main import create_app

app = create_app()
