"""The core of the web interface: login, session cookie, headers, CSRF, the error shape."""

from __future__ import annotations

import httpx
import pytest

from dsnlink.web.sessions import COOKIE_NAME
from tests.integration.web.conftest import ADMIN_PASSWORD, BASE_URL, USER_PASSWORD, Login

pytestmark = pytest.mark.anyio


async def test_anonymous_page_redirects_to_login_and_api_answers_401(
    anonymous: httpx.AsyncClient,
) -> None:
    page = await anonymous.get("/comptes")
    assert page.status_code == 303
    assert page.headers["location"] == "/connexion?suivant=%2Fcomptes"
    api = await anonymous.get("/api/v1/users")
    assert api.status_code == 401
    error = api.json()["error"]
    assert error["code"] == "access.not_authenticated"
    assert "connecté" in error["message"]


async def test_login_form_sets_a_strict_httponly_cookie_and_shows_the_installation(
    anonymous: httpx.AsyncClient,
) -> None:
    answer = await anonymous.post(
        "/connexion",
        data={"login": "Administrateur", "password": ADMIN_PASSWORD, "suivant": "/comptes"},
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/comptes"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "samesite=strict" in cookie.lower()
    page = await anonymous.get("/comptes")
    assert page.status_code == 200
    assert "Association Les Amis" in page.text
    assert "Cabinet Durand" in page.text
    for area in ("Comptes utilisateurs", "Employeurs", "Dépôts", "Retours", "Taux PAS"):
        assert area in page.text
    assert "Échéances" in page.text
    assert "Journal" in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "same-origin"
    assert "<script>" not in page.text  # no inline script


async def test_session_id_is_rotated_at_login(anonymous: httpx.AsyncClient) -> None:
    first = await anonymous.post(
        "/api/v1/session", json={"login": "dupont", "password": USER_PASSWORD}
    )
    old = first.cookies[COOKIE_NAME]
    second = await anonymous.post(
        "/api/v1/session", json={"login": "dupont", "password": USER_PASSWORD}
    )
    new = second.cookies[COOKIE_NAME]
    assert old != new
    # The old cookie no longer opens anything.
    anonymous.cookies.clear()
    stale = await anonymous.get("/api/v1/session", headers={"Cookie": f"{COOKIE_NAME}={old}"})
    assert stale.status_code == 401
    fresh = await anonymous.get("/api/v1/session", headers={"Cookie": f"{COOKIE_NAME}={new}"})
    assert fresh.json()["login"] == "dupont"


async def test_wrong_password_is_refused_in_french_and_logout_ends_the_session(
    anonymous: httpx.AsyncClient, login_as: Login
) -> None:
    wrong = await anonymous.post(
        "/connexion", data={"login": "dupont", "password": "pas-le-bon-mot"}
    )
    assert wrong.status_code == 401
    assert "Identifiant ou mot de passe incorrect" in wrong.text
    assert "pas-le-bon-mot" not in wrong.text
    client = await login_as("dupont", USER_PASSWORD)
    assert (await client.get("/api/v1/session")).status_code == 200
    out = await client.post("/deconnexion")
    assert out.status_code == 303
    assert (await client.get("/api/v1/session")).status_code == 401


async def test_login_is_throttled_after_repeated_failures(anonymous: httpx.AsyncClient) -> None:
    statuses = []
    for _ in range(5):
        answer = await anonymous.post(
            "/api/v1/session", json={"login": "martin", "password": "mauvais"}
        )
        statuses.append(answer.status_code)
    assert statuses[:3] == [401, 401, 401]
    assert 429 in statuses
    # Even the right password waits until the delay is over.
    right = await anonymous.post(
        "/api/v1/session", json={"login": "martin", "password": USER_PASSWORD}
    )
    assert right.status_code == 429
    assert right.json()["error"]["code"] == "access.throttled"
    assert int(right.headers["retry-after"]) >= 1


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site", "Origin": BASE_URL},
    ],
)
async def test_cross_site_state_changes_are_refused(
    admin: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    answer = await admin.post("/deconnexion", headers=headers)
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "access.cross_site"
    # Still logged in: the refused request changed nothing.
    assert (await admin.get("/api/v1/session")).status_code == 200


async def test_same_origin_reads_and_unknown_routes_use_the_error_shape(
    admin: httpx.AsyncClient,
) -> None:
    missing = await admin.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert set(missing.json()["error"]) == {"code", "message", "details"}
    page = await admin.get("/nothing-here")
    assert page.status_code == 404
    assert "existe pas" in page.text


async def test_login_next_target_cannot_leave_the_site(anonymous: httpx.AsyncClient) -> None:
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        answer = await anonymous.post(
            "/connexion",
            data={"login": "Administrateur", "password": ADMIN_PASSWORD, "suivant": target},
        )
        assert answer.headers["location"] == "/"


async def test_home_page_points_at_the_procedure(admin: httpx.AsyncClient, login_as: Login) -> None:
    page = await admin.get("/")
    assert page.status_code == 200
    assert "monoposte" in page.text
    assert 'href="/comptes/Administrateur/net-entreprises"' in page.text
    assert 'data-login="dupont"' in page.text
    dupont = await login_as("dupont", USER_PASSWORD)
    own = await dupont.get("/")
    assert 'href="/comptes/dupont/net-entreprises"' in own.text
    assert 'data-login="martin"' not in own.text
