"""The FastAPI application of the Centre de maintenance, over one opened installation."""

from __future__ import annotations

import threading
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from dsnlink import __version__
from dsnlink.web import errors, markup
from dsnlink.web.credential_checks import CredentialMemory
from dsnlink.web.errors import API_PREFIX
from dsnlink.web.routes import ROUTERS
from dsnlink.web.security import SecurityMiddleware
from dsnlink.web.sessions import SessionStore

if TYPE_CHECKING:
    from dsnlink.pipeline.context import Pipeline
    from dsnlink.setup import App

HERE = Path(__file__).resolve().parent


class TemplateEnvironment(jinja2.Environment):
    """Jinja with a faster ``row.field`` on the plain dicts the listings give templates.

    Jinja tries the attribute first and falls back to the item through a caught
    ``AttributeError``: on a page of 50 rows of 20 fields, a thousand exceptions. A dict
    key that is not also a ``dict`` attribute (``items``, ``get``...) is returned directly,
    which is what Jinja would have returned after the exception.
    """

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute in obj and attribute not in _DICT_ATTRIBUTES:
            return obj[attribute]
        return super().getattr(obj, attribute)


#: ``items``, ``get``…: on a dict, Jinja's ``row.items`` is the method, not the key.
_DICT_ATTRIBUTES = frozenset(dir(dict))


class PipelineHolder:
    """The installation's pipeline, opened on first use (pages that need no portal client
    never build one) or given by ``dsnlink serve``, which shares it with the runner."""

    def __init__(self, ctx: App, pipeline: Pipeline | None) -> None:
        self._ctx = ctx
        self._pipeline = pipeline
        self._stack = ExitStack()
        self._lock = threading.Lock()

    def get(self) -> Pipeline:
        with self._lock:
            if self._pipeline is None:
                from dsnlink.pipeline.setup import open_pipeline

                self._pipeline = self._stack.enter_context(open_pipeline(self._ctx))
            return self._pipeline

    def close(self) -> None:
        self._stack.close()


def create_app(ctx: App, *, pipeline: Pipeline | None = None) -> FastAPI:
    """The web application: pages at ``/…``, the JSON API under ``/api/v1/…``."""
    app = FastAPI(
        title="dsnlink — Centre de maintenance",
        version=__version__,
        description="API JSON du Centre de maintenance dsnlink : mêmes droits que les pages.",
        docs_url=None,
        redoc_url=None,
        openapi_url=f"{API_PREFIX}/openapi.json",
    )
    settings = ctx.settings
    app.state.ctx = ctx
    app.state.pipeline = PipelineHolder(ctx, pipeline)
    app.state.sessions = SessionStore(
        ctx.db,
        idle_timeout=timedelta(minutes=settings.web_session_minutes),
        confirm_window=timedelta(minutes=settings.web_confirm_minutes),
    )
    # Autoescape everywhere (not only *.html): nothing a user typed is ever markup. No
    # auto_reload: the templates ship with the program, and checking each one's modification
    # time on every render (a stat per template, layout and import) is wasted work.
    env = TemplateEnvironment(
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=True,
        auto_reload=False,
    )
    env.globals.update(when=markup.when, answer=markup.answer)
    templates = Jinja2Templates(env=env)
    app.state.templates = templates
    app.state.credential_memory = CredentialMemory(ctx.db, lambda: ctx.vault)
    app.add_middleware(SecurityMiddleware)
    errors.install(app)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    for page_router, api_router in ROUTERS:
        app.include_router(page_router, include_in_schema=False)
        app.include_router(api_router, prefix=API_PREFIX)
    app.router.add_event_handler("shutdown", app.state.pipeline.close)
    return app


def warm(app: FastAPI) -> None:
    """Compile every template and build the OpenAPI document now, at a server's start, rather
    than on the first requests (which would wait for it, and the OpenAPI document is built in
    the event loop, stopping every other request meanwhile)."""
    templates: Jinja2Templates = app.state.templates
    env = templates.env
    for name in env.list_templates(extensions=["html"]):
        env.get_template(name)
    app.openapi()
