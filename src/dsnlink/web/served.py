"""The web application of one process of ``dsnlink serve --workers N``.

uvicorn starts each web process afresh (``spawn``) and builds its application with
:func:`create_worker_app`: the installation of the environment's settings (the same
``DSNLINK_*`` variables as the parent), its own database engine and pipeline. The runner and
the watched folder stay in the parent process, started once; sessions, login throttling, the
memory of refused credentials and the maintenance slot live in the database or the data
folder, so whichever process answers a request sees the same state.
"""

from __future__ import annotations

import os

from fastapi import FastAPI


def create_worker_app() -> FastAPI:
    from dsnlink.logs import configure_logging
    from dsnlink.settings import get_settings
    from dsnlink.setup import open_app
    from dsnlink.web.app import create_app, warm

    settings = get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    ctx = open_app(settings)
    web = create_app(ctx)
    # The parent holds the runner's lock: the Workers et file page says it runs in this server.
    web.state.runner_pid = os.getppid()
    web.router.add_event_handler("shutdown", ctx.close)
    warm(web)
    return web
