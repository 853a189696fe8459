"""ASGI entry for multi-worker uvicorn/gunicorn: `uvicorn askdesk.asgi:app`.

`askdesk serve` refuses a non-local bind address without API keys. Here the server's bind address
(uvicorn --host, gunicorn -b) cannot be seen, so the rule is kept this way:

- without ASKDESK_API_KEYS this entry loads only when ASKDESK_HOST is set to a loopback address,
  the operator's statement that the server binds this machine only (`askdesk serve --workers N`
  sets it for its workers); otherwise it exits with one line saying what to set;
- the app's lifespan refuses a non-local ASKDESK_HOST without keys, whatever the entry;
- and at request time, without keys, the app refuses any request that reached a non-loopback
  address of this machine (app/api/edge.py LocalOnlyWithoutKeys): that one sees the real socket,
  so it also holds when ASKDESK_HOST says loopback but the server binds 0.0.0.0.
"""

import sys

from app.api.edge import is_loopback
from app.settings import get_settings
from askdesk.wiring import service

settings = get_settings()
if not settings.api_keys and not ("host" in settings.model_fields_set and is_loopback(settings.host)):
    print("error: askdesk.asgi cannot see the address the server binds, and there are no API keys: set "
          "ASKDESK_API_KEYS, or ASKDESK_HOST=127.0.0.1 when the server binds this machine only",
          file=sys.stderr)  # fmt: skip
    sys.exit(3)  # uvicorn's "failed to start": its worker supervisor stops instead of restarting

app = service(settings)
