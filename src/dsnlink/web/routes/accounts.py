"""Comptes utilisateurs: the list of accounts (the user pages come in ``user_page``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from dsnlink.accounts.rights import Operation, allowed
from dsnlink.store.records import User
from dsnlink.web.deps import CurrentUser, Services, render, require
from dsnlink.web.schemas import ERROR_RESPONSES, UserOut, user_out

pages = APIRouter()
api = APIRouter(tags=["comptes"], responses=ERROR_RESPONSES)


@pages.get("/comptes", response_class=HTMLResponse)
def accounts_page(request: Request, ctx: Services, user: CurrentUser) -> Response:
    if not allowed(user, Operation.USERS_LIST, own=True):
        # Without the configuration right, "Comptes utilisateurs" is one's own account.
        from fastapi.responses import RedirectResponse

        return RedirectResponse(f"/comptes/{user.login}", status_code=303)
    users = ctx.accounts.users.list(user)
    return render(request, "comptes.html", title="Comptes utilisateurs", users=users)


@api.get("/users", response_model=list[UserOut], summary="Liste des comptes")
def api_users(
    ctx: Services, user: Annotated[User, Depends(require(Operation.USERS_LIST))]
) -> list[UserOut]:
    return [user_out(u) for u in ctx.accounts.users.list(user)]
