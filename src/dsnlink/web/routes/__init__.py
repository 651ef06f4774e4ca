"""Every area of the web interface: one module each, exposing ``pages`` and ``api`` routers.

``pages`` serves HTML at ``/…`` (left out of the OpenAPI description); ``api`` serves JSON and
is mounted under ``/api/v1`` by :func:`dsnlink.web.app.create_app`. Add a module by importing
it here and appending its pair to :data:`ROUTERS`; add its routes to the route × right table
of the tests (``tests/web_routes.py``), which refuses routes it does not know.
"""

from __future__ import annotations

from fastapi import APIRouter

from dsnlink.web.routes import (
    accounts,
    auth,
    connection,
    deadlines,
    deposits,
    employers,
    identity,
    journal,
    maintenance,
    rates,
    returns,
)

ROUTERS: list[tuple[APIRouter, APIRouter]] = [
    (auth.pages, auth.api),
    (accounts.pages, accounts.api),
    (identity.pages, identity.api),
    (connection.pages, connection.api),
    # The business areas.
    (employers.pages, employers.api),
    (deposits.pages, deposits.api),
    (returns.pages, returns.api),
    (rates.pages, rates.api),
    (deadlines.pages, deadlines.api),
    (journal.pages, journal.api),
    (maintenance.pages, maintenance.api),
]
