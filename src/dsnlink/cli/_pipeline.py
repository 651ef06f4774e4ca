"""What the pipeline commands share: the installation, its pipeline, the acting user."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dsnlink.cli._session import acting_user, open_installation
from dsnlink.errors import PermissionDenied
from dsnlink.store.records import Module, User

if TYPE_CHECKING:
    from dsnlink.pipeline.context import Pipeline
    from dsnlink.setup import App


@dataclass
class Session:
    app: App
    pipeline: Pipeline
    user: User


@contextmanager
def pipeline_session(
    as_login: str | None, *, rights: Sequence[Module] = (Module.DECLARATIONS,)
) -> Iterator[Session]:
    """Open the installation, authenticate the acting user, check one of ``rights``."""
    from dsnlink.pipeline.setup import open_pipeline

    with open_installation() as app:
        user = acting_user(app, as_login).user
        if rights and not any(user.has(m) for m in rights):
            raise PermissionDenied(
                "Cette commande demande le droit « "
                + " » ou « ".join(r.value for r in rights)
                + " ».",
                login=user.login,
            )
        with open_pipeline(app) as pipeline:
            yield Session(app, pipeline, user)


@contextmanager
def background_pipeline() -> Iterator[tuple[App, Pipeline]]:
    """For the runner: each envoi is worked on behalf of the user who deposited it."""
    from dsnlink.pipeline.setup import open_pipeline

    with open_installation() as app, open_pipeline(app) as pipeline:
        yield app, pipeline
