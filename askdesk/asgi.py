"""ASGI entry for multi-worker uvicorn/gunicorn: `uvicorn askdesk.asgi:app`."""

from app.settings import get_settings
from askdesk.wiring import service

app = service(get_settings())
