"""The Net-entreprises tab against the simulator: confirmation first, the linter, the
connection test of typed values (one attempt, never the same refused values twice), saving,
and the canary password nowhere in pages, answers or logs."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.integration.web.conftest import ADMIN_PASSWORD, BASE_URL, USER_PASSWORD
from tests.support.web import DUPONT, DUPONT_PASSWORD, PortalWorld

pytestmark = pytest.mark.anyio


async def _stream(
    client: httpx.AsyncClient, login: str, body: dict[str, Any]
) -> list[dict[str, Any]]:
    answer = await client.post(f"/api/v1/users/{login}/connection-test/stream", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in answer.text.splitlines() if line.strip()]


async def test_editing_needs_the_own_password_first(portal_admin: httpx.AsyncClient) -> None:
    page = await portal_admin.get("/comptes/dupont/net-entreprises")
    assert page.status_code == 200
    assert "Confirmez votre mot de passe" in page.text
    assert 'id="form-identite"' not in page.text
    save = await portal_admin.put(
        "/api/v1/users/dupont/identity",
        json={**DUPONT, "password": DUPONT_PASSWORD, "environment": "simulator"},
    )
    assert save.status_code == 403
    assert save.json()["error"]["code"] == "access.reauthentication_required"
    wrong = await portal_admin.post("/comptes/dupont/confirmer", data={"password": "pas-le-mien"})
    assert wrong.status_code == 401
    assert "confirmation est incorrect" in wrong.text
    ok = await portal_admin.post("/comptes/dupont/confirmer", data={"password": ADMIN_PASSWORD})
    assert ok.status_code == 303
    page = await portal_admin.get("/comptes/dupont/net-entreprises")
    assert 'id="form-identite"' in page.text


async def test_lint_makes_a_trailing_space_visible(portal_admin: httpx.AsyncClient) -> None:
    answer = await portal_admin.post(
        "/api/v1/lint/identity",
        json={**DUPONT, "password": DUPONT_PASSWORD + " "},
    )
    assert answer.status_code == 200
    report = answer.json()
    password = next(f for f in report["fields"] if f["field"] == "motdepasse")
    assert password["visible"].endswith("␣»")
    assert set(password["visible"][1:-2]) == {"•"}  # masked, except the space made visible
    (finding,) = password["findings"]
    assert finding["rule"] == "trailing_space"
    assert finding["severity"] == "warning"  # a password may end with a space: people decide
    assert password["cleaned_offered"]
    assert DUPONT_PASSWORD not in answer.text
    names = await portal_admin.post("/api/v1/lint/identity", json={**DUPONT, "nom": "DUPONT\u00a0"})
    assert not names.json()["ok"]
    nom = next(f for f in names.json()["fields"] if f["field"] == "nom")
    assert nom["visible"] == "«DUPONT⍽»"


async def test_wrong_password_one_attempt_then_green_then_saved(
    portal_admin: httpx.AsyncClient, world: PortalWorld
) -> None:
    await portal_admin.post("/api/v1/session/confirm", json={"password": ADMIN_PASSWORD})
    typed = {**DUPONT, "environment": "simulator"}
    wrong = await _stream(portal_admin, "dupont", {**typed, "password": "Mauvais-mdp-1"})
    kinds = [item["type"] for item in wrong]
    assert kinds[-1] == "report" and kinds.count("step") >= 5
    report = wrong[-1]
    marks = {m["id"]: m["status"] for m in report["marks"]}
    assert "failure" in marks.values()
    login_step = next(s for s in wrong if s["type"] == "step" and s["id"] == "login")
    assert login_step["status"] == "failure"
    assert login_step["code"] == "portal.wrong_credentials"
    assert login_step["remedy"]
    assert len(world.sim.attempts(DUPONT["siret"])) == 1

    # The same refused values again: refused at once, no second attempt on the portal.
    again = await portal_admin.post(
        "/api/v1/users/dupont/connection-test/stream", json={**typed, "password": "Mauvais-mdp-1"}
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "portal.wrong_credentials"
    assert len(world.sim.attempts(DUPONT["siret"])) == 1

    right = await _stream(portal_admin, "dupont", {**typed, "password": DUPONT_PASSWORD})
    final = right[-1]
    assert final["type"] == "report"
    assert final["all_green"], final
    assert [m["status"] for m in final["marks"]] == ["ok", "ok", "ok"]
    assert len(world.sim.attempts(DUPONT["siret"])) == 2
    assert all(s["duration_ms"] >= 0 for s in right if s["type"] == "step")

    saved = await portal_admin.put(
        "/api/v1/users/dupont/identity", json={**typed, "password": DUPONT_PASSWORD}
    )
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["state"] == "ok"  # tested green just before: the sheet's check marks
    assert "password" not in body
    listing = await portal_admin.get("/comptes")
    assert "Vérifiée" in listing.text
    for text in (wrong, right):
        assert DUPONT_PASSWORD not in json.dumps(text)
    assert DUPONT_PASSWORD not in saved.text


async def test_saving_refuses_values_the_portal_would_refuse(
    portal_admin: httpx.AsyncClient,
) -> None:
    await portal_admin.post("/api/v1/session/confirm", json={"password": ADMIN_PASSWORD})
    answer = await portal_admin.post(
        "/comptes/dupont/net-entreprises",
        data={**DUPONT, "nom": "DUPONT ", "environment": "simulator", "password": DUPONT_PASSWORD},
    )
    assert answer.status_code == 422
    assert "Net-entreprises refuserait" in answer.text
    assert DUPONT_PASSWORD not in answer.text
    identities = await portal_admin.get("/api/v1/users/dupont/identities")
    assert identities.json() == []


async def test_the_canary_appears_in_no_page_answer_or_log(
    portal_admin: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    await portal_admin.post("/api/v1/session/confirm", json={"password": ADMIN_PASSWORD})
    typed = {**DUPONT, "environment": "simulator", "password": DUPONT_PASSWORD}
    saved = await portal_admin.post("/comptes/dupont/net-entreprises", data=typed)
    assert saved.status_code == 303
    seen = [saved.text]
    for path in (
        "/comptes",
        "/comptes/dupont/compte",
        "/comptes/dupont/net-entreprises",
        "/comptes/dupont/connexion",
        "/api/v1/users",
        "/api/v1/users/dupont",
        "/api/v1/users/dupont/identities",
        "/api/v1/users/dupont/connection",
        "/api/v1/openapi.json",
    ):
        answer = await portal_admin.get(path)
        assert answer.status_code == 200, path
        seen.append(answer.text)
    tested = await portal_admin.post("/api/v1/users/dupont/connection-test", json={})
    assert tested.json()["all_green"], tested.text
    seen.append(tested.text)
    streamed = await portal_admin.post("/api/v1/users/dupont/connection-test/stream", json={})
    seen.append(streamed.text)
    out = capsys.readouterr()
    seen += [out.out, out.err]
    for text in seen:
        assert DUPONT_PASSWORD not in text
    # The page never sends the stored password back, even in a value attribute.
    page = seen[3]
    assert 'name="password" type="password" value=""' in page


async def test_a_declarant_enters_and_tests_their_own_credentials(
    portal_app: Any, world: PortalWorld
) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=portal_app),
        base_url=BASE_URL,
        headers={"Origin": BASE_URL},
    ) as dupont:
        logged = await dupont.post(
            "/api/v1/session", json={"login": "dupont", "password": USER_PASSWORD}
        )
        assert logged.status_code == 200
        # Another user's tab: refused (configuration needed).
        assert (await dupont.get("/comptes/martin/net-entreprises")).status_code == 403
        confirm = await dupont.post("/comptes/dupont/confirmer", data={"password": USER_PASSWORD})
        assert confirm.status_code == 303
        typed = {**DUPONT, "environment": "simulator", "password": DUPONT_PASSWORD}
        lines = await _stream(dupont, "dupont", typed)
        assert lines[-1]["all_green"], lines[-1]
        saved = await dupont.post("/comptes/dupont/net-entreprises", data=typed)
        assert saved.status_code == 303
        page = await dupont.get("/comptes/dupont/net-entreprises")
        assert "Vérifiée" in page.text
        # The stored identity, tested again without typing the password.
        again = await dupont.post("/api/v1/users/dupont/connection-test", json={})
        assert again.json()["all_green"]
        assert len(world.sim.attempts(DUPONT["siret"])) == 2
        assert DUPONT_PASSWORD not in page.text + again.text


async def test_deleting_an_identity_needs_the_confirmation(portal_admin: httpx.AsyncClient) -> None:
    typed = {**DUPONT, "environment": "simulator", "password": DUPONT_PASSWORD}
    saved = await portal_admin.put(
        "/api/v1/users/dupont/identity", json={**typed, "confirm_password": ADMIN_PASSWORD}
    )
    assert saved.status_code == 200
    refused = await portal_admin.post(
        "/comptes/dupont/net-entreprises/supprimer", data={"environment": "simulator"}
    )
    assert refused.status_code == 422
    assert "Confirmez" in refused.text
    assert len((await portal_admin.get("/api/v1/users/dupont/identities")).json()) == 1
    await portal_admin.post("/api/v1/session/confirm", json={"password": ADMIN_PASSWORD})
    page = await portal_admin.get("/comptes/dupont/net-entreprises")
    assert 'id="supprimer-identite"' in page.text
    deleted = await portal_admin.post(
        "/comptes/dupont/net-entreprises/supprimer", data={"environment": "simulator"}
    )
    assert deleted.status_code == 303
    assert (await portal_admin.get("/api/v1/users/dupont/identities")).json() == []
    again = await portal_admin.request(
        "DELETE",
        "/api/v1/users/dupont/identity?environment=simulator",
        json={"password": ADMIN_PASSWORD},
    )
    assert again.status_code == 404
