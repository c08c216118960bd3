"""The web UI: a single page (plain ES modules, no build step) and its static files.

Every page URL (``/``, ``/traces/<id>``, ``/compare``, ``/dashboard``, ``/datasets``) answers with the same
``index.html``; the page's script routes on ``location``. Assets are under ``/static/`` (third-party files
in ``static/vendor/`` with their licences).
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent.parent / "ui" / "static"
INDEX = STATIC_DIR / "index.html"


async def index(request: Request) -> Response:
    # no-cache: the browser revalidates (ETag), so a new version of the UI shows on the next load.
    return FileResponse(INDEX, media_type="text/html", headers={"Cache-Control": "no-cache"})


class _Static(StaticFiles):
    def file_response(self, *args: object, **kwargs: object) -> Response:
        response = super().file_response(*args, **kwargs)  # type: ignore[arg-type]
        response.headers.setdefault("Cache-Control", "no-cache")
        return response


routes = [
    Route("/", index, methods=["GET", "HEAD"]),
    Route("/traces/{trace_id}", index, methods=["GET", "HEAD"]),
    Route("/compare", index, methods=["GET", "HEAD"]),
    Route("/dashboard", index, methods=["GET", "HEAD"]),
    Route("/datasets", index, methods=["GET", "HEAD"]),
    Route("/datasets/{rest:path}", index, methods=["GET", "HEAD"]),
    Mount("/static", app=_Static(directory=STATIC_DIR, check_dir=False), name="static"),
]
