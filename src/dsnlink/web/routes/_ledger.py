"""What the business pages share: the installation's pipeline for a request, running the due
pipeline steps after a deposit, the query parameters of paginated lists, month values."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import Query, Request

from dsnlink.errors import DsnlinkError
from dsnlink.pipeline.context import Pipeline
from dsnlink.pipeline.ports import Clock
from dsnlink.setup import App

#: ``?page=`` and ``?per_page=`` of every list (pages and API).
PageNumber = Annotated[int, Query(ge=1, le=100_000, description="Page (1 : la première).")]
PerPage = Annotated[int, Query(ge=1, le=200, description="Lignes par page.")]
SIRET_PATTERN = r"^\d{14}$"


@contextmanager
def read_clock(app: App) -> Iterator[Clock]:
    """The pipeline's clock for a page that reads (with the simulator profile: the simulator's
    clock, read afresh, so the page agrees with a clock just moved)."""
    from dsnlink.pipeline.setup import SimulatorClock, clock_for

    clock = clock_for(app.settings)
    try:
        yield clock
    finally:
        if isinstance(clock, SimulatorClock):
            clock.close()


@contextmanager
def web_pipeline(request: Request, app: App) -> Iterator[Pipeline]:
    # A clock per request: with the simulator profile it reads the simulator's clock afresh,
    # so a page shows what the pipeline sees right after the clock was moved.
    from dsnlink.pipeline.setup import open_pipeline

    with open_pipeline(app) as pipeline:
        yield pipeline


def run_due(app: App, pipeline: Pipeline, *, sync: bool = False) -> dict[str, Any]:
    """Run the due steps now (deposit, returns polls), and the declarant-wide returns listing
    when ``sync``. Only one runner works on a database: when ``dsnlink run`` (or the runner of
    ``dsnlink serve``, or réseau workers) already works, it does the work and this says so."""
    from dsnlink.jobs.handoff import run_due_here

    done = run_due_here(app, pipeline, sync=sync)
    if done is None:
        return {"ran": False, "steps": 0, "listed": 0}
    return {"ran": True, "steps": done.steps, "listed": done.listed}


def status_of(exc: DsnlinkError) -> int:
    """The HTTP status of an error shown on a page (the same as the API's)."""
    from dsnlink.web.errors import status_for

    return status_for(exc)


_DESCRIPTIONS = {
    400: "Requête illisible.",
    401: "Non connecté.",
    403: "Droit manquant, ou requête venant d'un autre site.",
    404: "Objet inconnu.",
    409: "Conflit : déjà fait, ou l'état a changé.",
    413: "Fichier trop volumineux.",
    422: "Valeur incorrecte.",
    502: "Net-entreprises n'a pas répondu comme prévu.",
    503: "Service indisponible.",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI description of the errors a route answers, in the API's one error shape."""
    from dsnlink.web.schemas import ErrorOut

    return {code: {"model": ErrorOut, "description": _DESCRIPTIONS[code]} for code in codes}
