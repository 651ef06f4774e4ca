"""The business pages and their JSON API, in-process (httpx ASGI transport), on a real
installation whose endpoint is the simulator over HTTP: upload, check report, deposit, AEE,
returns, CRM 94 rates, deadlines, employers, journal."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from dsnlink.pipeline.sql import SqlLedger
from dsnlink.simulator.server import RunningSimulator, running_simulator
from dsnlink.web.routes import _uploads
from tests.integration.web.business_world import (
    CANARY,
    WebWorld,
    asgi_app,
    build_web_world,
    client_as,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def sim() -> Iterator[RunningSimulator]:
    with running_simulator() as running:
        yield running


@pytest.fixture
def world(tmp_path: Path, sim: RunningSimulator) -> Iterator[WebWorld]:
    built = build_web_world(tmp_path / "data", sim)
    with built.app:
        yield built


def _files(data: bytes, name: str = "paie-2026-10.dsn") -> dict[str, tuple[str, bytes, str]]:
    return {"fichier": (name, data, "text/plain")}


async def test_upload_check_deposit_aee_then_rates_through_pages(world: WebWorld) -> None:
    asgi = asgi_app(world.app)
    async with client_as(asgi, "dupont") as client:
        form = await client.get("/depots/nouveau")
        assert form.status_code == 200 and 'type="file"' in form.text

        report = await client.post("/depots/controle", files=_files(world.dsn(0)))
        assert report.status_code == 200, report.text
        assert "Aucune anomalie bloquante" in report.text
        assert world.employers[0] in report.text
        # Checked, not recorded: nothing in the ledger before the confirmation.
        assert SqlLedger(world.app.db).envois() == []
        token = report.text.split('name="token" value="')[1].split('"')[0]

        done = await client.post("/depots/deposer", data={"token": token, "test_first": "no"})
        assert done.status_code == 303, done.text
        detail = await client.get(done.headers["location"])
        assert detail.status_code == 200
        (envoi,) = SqlLedger(world.app.db).envois()
        assert envoi.idflux and envoi.idflux in detail.text
        assert "AEE ✓" in detail.text and "retours attendus" in detail.text
        # The staged copy is gone once deposited; the same token cannot deposit twice.
        again = await client.post("/depots/deposer", data={"token": token})
        assert again.status_code == 404 and "plus disponible" in again.text

        listing = await client.get("/depots")
        assert envoi.idflux in listing.text and "AEE ✓" in listing.text

        world.sim.advance("10m")
        world.sim.advance("4d")
        ran = await client.post("/depots/releve")
        assert ran.status_code == 303 and ran.headers["location"].startswith("/depots?releve=")
        rates = await client.get("/taux-pas", params={"siret": world.employers[0]})
        assert rates.status_code == 200
        stored = SqlLedger(world.app.db).rates(siret=world.employers[0])
        assert stored, "the CRM 94 brought rates"
        assert all(r.nir in rates.text for r in stored)

        returns = await client.get("/retours", params={"type": "CRM94"})
        assert returns.status_code == 200 and envoi.idflux in returns.text
        (crm_row,) = [
            r for r in SqlLedger(world.app.db).returns(idflux=envoi.idflux) if r.nature == "94"
        ]
        crm = await client.get(f"/retours/{envoi.idflux}/94", params={"ops": crm_row.ops})
        assert crm.status_code == 200 and "taux PAS par salarié" in crm.text
        raw = await client.get(f"/retours/{envoi.idflux}/10/brut")
        assert raw.status_code == 200 and raw.headers["content-type"].startswith("application/xml")
        assert b"rapport" in raw.content
        assert "attachment" in raw.headers["content-disposition"]


async def test_blocking_file_is_reported_and_never_stored(world: WebWorld) -> None:
    asgi = asgi_app(world.app)
    async with client_as(asgi, "dupont") as client:
        report = await client.post(
            "/depots/controle", files=_files(b"ceci n'est pas une DSN\n", "notes.txt")
        )
        assert report.status_code == 200
        assert "Anomalies bloquantes" in report.text and 'name="token"' not in report.text
    assert SqlLedger(world.app.db).envois() == []
    staged = world.app.settings.data_dir / "web-uploads"
    assert not staged.exists() or not any(staged.iterdir())


async def test_upload_over_the_limit_is_refused_before_anything_is_kept(
    world: WebWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_uploads, "MAX_UPLOAD_BYTES", 1000)
    asgi = asgi_app(world.app)
    async with client_as(asgi, "dupont") as client:
        page = await client.post("/depots/controle", files=_files(world.dsn(0)))
        assert page.status_code == 413 and "trop volumineux" in page.text
        api = await client.post("/api/v1/deposits/check", files={"file": ("a.dsn", world.dsn(0))})
        assert api.status_code in {413, 422}
        assert api.json()["error"]["code"] == "invalid_input.upload_too_large"
    staged = world.app.settings.data_dir / "web-uploads"
    assert not staged.exists() or not any(staged.iterdir())
    assert SqlLedger(world.app.db).envois() == []


async def test_a_staged_file_is_only_its_uploaders(world: WebWorld) -> None:
    staged = _uploads.stage(world.app.settings.data_dir, world.dsn(0), name="a.dsn", login="other")
    asgi = asgi_app(world.app)
    async with client_as(asgi, "dupont") as client:
        refused = await client.post("/depots/deposer", data={"token": staged.token})
        assert refused.status_code == 404
        forged = await client.post("/depots/deposer", data={"token": "../../etc/passwd"})
        assert forged.status_code == 422
    assert SqlLedger(world.app.db).envois() == []


async def test_deposit_api_test_first_then_duplicate_refused(world: WebWorld) -> None:
    asgi = asgi_app(world.app)
    async with client_as(asgi, "dupont") as client:
        check = await client.post("/api/v1/deposits/check", files={"file": ("a.dsn", world.dsn(1))})
        assert check.status_code == 200
        body = check.json()
        assert body["depositable"] and body["declarations"][0]["siret"] == world.employers[1]
        assert SqlLedger(world.app.db).envois() == []

        made = await client.post(
            "/api/v1/deposits",
            files={"file": ("a.dsn", world.dsn(1))},
            data={"test_first": "yes"},
        )
        assert made.status_code == 201, made.text
        out = made.json()
        roles = sorted(e["role"] for e in out["envois"])
        assert roles == ["real", "test"] and out["run"]["ran"]
        assert all(e["answer"] == "AEE" for e in out["envois"] if e["idflux"])

        # The same month again (other bytes): a second real monthly DSN is refused.
        dup = await client.post(
            "/api/v1/deposits",
            files={"file": ("b.dsn", world.dsn(1, employees=4))},
        )
        assert dup.status_code == 409
        assert dup.json()["error"]["code"].startswith("pipeline")

        listing = await client.get(
            "/api/v1/deposits", params={"siret": world.employers[1], "per_page": 10}
        )
        assert listing.status_code == 200
        page = listing.json()
        assert page["total"] == 2 and sum(page["counts"].values()) == 2
        detail = await client.get(f"/api/v1/deposits/{page['items'][0]['id']}")
        assert detail.status_code == 200
        assert detail.json()["events"][0]["to"] and "from" in detail.json()["events"][0]
        missing = await client.get("/api/v1/deposits/nope")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


async def test_run_now_leaves_the_work_to_a_runner_already_working(world: WebWorld) -> None:
    """ "Run now" from the web never waits: with the single-runner lock held (a ``dsnlink run``),
    it says so and leaves the deposit queued for that runner."""
    from dsnlink.jobs.locks import runner_lock
    from dsnlink.pipeline.states import EnvoiState

    asgi = asgi_app(world.app)
    settings = world.app.settings
    async with client_as(asgi, "dupont") as client:
        with runner_lock(world.app.db, settings.data_dir / "runner.lock"):
            made = await client.post("/api/v1/deposits", files={"file": ("a.dsn", world.dsn(0))})
            assert made.status_code == 201 and made.json()["run"]["ran"] is False
            (envoi,) = made.json()["envois"]
            assert envoi["state"] == EnvoiState.QUEUED.value
            run = await client.post("/api/v1/deposits/run")
            assert run.json() == {"ran": False, "steps": 0, "listed": 0}
            page = await client.post("/depots/releve")
            assert page.headers["location"] == "/depots?releve=-1"
        run = await client.post("/api/v1/deposits/run")
        assert run.json()["ran"] and run.json()["steps"] > 0
        detail = (await client.get(f"/api/v1/deposits/{envoi['id']}")).json()
        assert detail["envoi"]["state"] != EnvoiState.QUEUED.value


async def test_returns_rates_export_and_deadlines_api(world: WebWorld) -> None:
    asgi = asgi_app(world.app)
    async with client_as(asgi, "dupont") as client:
        made = await client.post(
            "/api/v1/deposits", files={"file": ("a.dsn", world.dsn(0, employees=5))}
        )
        assert made.status_code == 201
        world.sim.advance("10m")
        world.sim.advance("4d")
        run = await client.post("/api/v1/deposits/run")
        assert run.status_code == 200 and run.json()["ran"]
        returns = (await client.get("/api/v1/returns")).json()
        kinds = {r["kind"] for r in returns["items"]}
        assert {"AEE", "CRM94"} <= kinds
        idflux = returns["items"][0]["idflux"]
        parsed = await client.get(f"/api/v1/returns/{idflux}/10")
        assert parsed.status_code == 200 and parsed.json()["document"]["idflux"] == idflux
        raw = await client.get(f"/api/v1/returns/{idflux}/10/raw")
        assert raw.status_code == 200 and raw.content.startswith(b"<?xml")

    async with client_as(asgi, "paie") as client:
        siret = world.employers[0]
        table = (await client.get("/api/v1/rates", params={"siret": siret})).json()
        assert table["month"] == "10/2026" and table["total"] >= 1
        assert table["total"] + len(table["without_rate"]) >= 5
        exported = await client.get(
            "/api/v1/rates/export", params={"siret": siret, "format": "csv"}
        )
        assert exported.status_code == 200
        rows = list(csv.DictReader(io.StringIO(exported.text), delimiter=";"))
        assert len(rows) == table["total"] and rows[0]["siret"] == siret
        as_json = await client.get("/taux-pas/export", params={"siret": siret, "format": "json"})
        assert len(json.loads(as_json.text)) == table["total"]
        page = await client.get("/taux-pas", params={"siret": siret})
        assert page.status_code == 200 and "Exporter pour la paie" in page.text
        none_yet = await client.get("/api/v1/rates/export", params={"siret": world.employers[1]})
        assert none_yet.status_code == 404

        board = (await client.get("/api/v1/deadlines", params={"month": "10/2026"})).json()
        status = {d["siret"]: d["status"] for d in board["items"]}
        # Deposited today, after the 15th of the next month when the simulator's clock says so.
        assert status[world.employers[0]] in {"deposited", "late"}
        assert status[world.employers[1]] in {"missing", "overdue"}
        page = await client.get("/echeances", params={"mois": "10/2026"})
        assert page.status_code == 200 and "Employeur 2" in page.text
        bad = await client.get("/echeances", params={"mois": "13/2026"})
        assert bad.status_code in {400, 422}


async def test_employers_pages_and_api(world: WebWorld) -> None:
    asgi = asgi_app(world.app)
    async with client_as(asgi, "config") as client:
        page = await client.get("/employeurs")
        assert page.status_code == 200 and "Ajouter un employeur" in page.text
        assert "sa propre identité" in page.text  # dupont declares with his own identity
        added = await client.post(
            "/employeurs",
            data={"siret": "732 829 320 00074", "name": "Boulangerie", "due_day": "5"},
        )
        assert added.status_code == 303
        wrong = await client.post("/employeurs", data={"siret": "123", "name": "X"})
        assert wrong.status_code == 422 and "SIRET" in wrong.text
        listed = (await client.get("/api/v1/employers")).json()
        assert {e["siret"] for e in listed} >= {"73282932000074", *world.employers}
        linked = await client.put(
            "/api/v1/employers/73282932000074/links/dupont",
            json={"identity_owner": "dupont", "environment": "simulator"},
        )
        assert linked.status_code == 204
        (row,) = [e for e in (await client.get("/api/v1/employers")).json() if e["due_day"] == 5]
        (link,) = row["links"]
        assert link["identity"]["owner"] == "dupont" and link["identity"]["state"] is None
        gone = await client.post("/employeurs/73282932000074/detacher/dupont")
        assert gone.status_code == 303
        deleted = await client.delete("/api/v1/employers/73282932000074")
        assert deleted.status_code == 204
        again = await client.delete("/api/v1/employers/73282932000074")
        assert again.status_code == 404

    async with client_as(asgi, "dupont") as client:
        mine = (await client.get("/api/v1/employers")).json()
        assert {e["siret"] for e in mine} == set(world.employers)
        assert all(lk["identity"] is None for e in mine for lk in e["links"])
        page = await client.get("/employeurs")
        assert page.status_code == 200 and "Ajouter un employeur" not in page.text
        refused = await client.post(
            "/api/v1/employers", json={"siret": "73282932000074", "name": "X"}
        )
        assert refused.status_code == 403


async def test_employers_page_shows_fifty_at_a_time(world: WebWorld) -> None:
    from tests.integration.pipeline_world import siret

    with world.app.store.read() as r:
        admin = r.users.by_login("Administrateur")
    assert admin is not None
    for n in range(60):
        world.app.accounts.employers.add(admin, siret=siret(500 + n), name=f"Zeta {n:02d}")
    total = len(world.employers) + 60
    async with client_as(asgi_app(world.app), "config") as client:
        first = (await client.get("/employeurs")).text
        second = (await client.get("/employeurs", params={"page": 2})).text
        listed = (await client.get("/api/v1/employers")).json()
    assert len(listed) == total  # the API lists them all
    rows = [text.count('/supprimer"') for text in (first, second)]  # a delete form per row
    assert rows == [50, total - 50]
    assert f"Page 1 sur 2 ({total} lignes)" in first and 'href="/employeurs?page=2"' in first
    shown = {n for n in range(60) for text in (first, second) if f"Zeta {n:02d}" in text}
    assert shown == set(range(60))


async def test_employer_due_day_and_test_first_are_edited_checked_and_audited(
    world: WebWorld,
) -> None:
    from dsnlink.pipeline.intake import receive
    from dsnlink.pipeline.setup import open_pipeline

    siret = world.employers[0]
    asgi = asgi_app(world.app)
    async with client_as(asgi, "config") as client:
        page = await client.get("/employeurs")
        assert f'action="/employeurs/{siret}/reglages"' in page.text
        saved = await client.post(
            f"/employeurs/{siret}/reglages", data={"due_day": "5", "test_first": "oui"}
        )
        assert saved.status_code == 303
        (row,) = [e for e in (await client.get("/api/v1/employers")).json() if e["siret"] == siret]
        assert row["due_day"] == 5 and row["test_first"] is True
        # French messages for a day that is not one; nothing changed.
        wrong = await client.post(f"/employeurs/{siret}/reglages", data={"due_day": "12"})
        assert wrong.status_code == 422 and "le 5 ou le 15" in wrong.text
        unreadable = await client.post(f"/employeurs/{siret}/reglages", data={"due_day": "x"})
        assert unreadable.status_code == 422 and "illisible" in unreadable.text
        api = await client.put(
            f"/api/v1/employers/{siret}/policy", json={"due_day": 15, "test_first": False}
        )
        assert api.json() == {"siret": siret, "due_day": 15, "test_first": False}
        missing = await client.put(
            "/api/v1/employers/35600000000048/policy", json={"due_day": 5, "test_first": True}
        )
        assert missing.status_code == 404
        await client.put(
            f"/api/v1/employers/{siret}/policy", json={"due_day": 5, "test_first": True}
        )
    async with client_as(asgi, "dupont") as client:
        # A declarant sees the options but may not change them (checked by the server).
        page = await client.get("/employeurs")
        assert "/reglages" not in page.text and "le 5 du mois suivant" in page.text
        refused = await client.post(f"/employeurs/{siret}/reglages", data={"due_day": "15"})
        assert refused.status_code == 403
        # The deadline board follows the due day in force.
        board = (await client.get("/api/v1/deadlines", params={"month": "10/2026"})).json()
        assert {d["due"] for d in board["items"] if d["siret"] == siret} == {"2026-11-05"}
    # The intake follows the employer's "test first": the real one waits for the test.
    with open_pipeline(world.app) as pipeline:
        intake = receive(pipeline, world.dsn(0), name="a.dsn", acting_login="dupont")
    assert sorted(e.role for e in intake.envois) == ["real", "test"]
    async with client_as(asgi, "audit") as client:
        entries = (await client.get("/api/v1/journal", params={"action": "employer.policy"})).json()
        assert entries["total"] == 3
        details = [e["detail"] for e in entries["items"]]
        assert details[0] == {"siret": siret, "due_day": 5, "test_first": True}


async def test_journal_filters_and_never_a_secret(world: WebWorld) -> None:
    asgi = asgi_app(world.app)
    async with client_as(asgi, "audit") as client:
        entries = (await client.get("/api/v1/journal", params={"per_page": 200})).json()
        actions = {e["action"] for e in entries["items"]}
        assert {"installation.init", "identity.set", "employer.add"} <= actions
        only = (await client.get("/api/v1/journal", params={"action": "employer."})).json()
        assert only["total"] >= 4 and all(
            e["action"].startswith("employer.") for e in only["items"]
        )
        page = await client.get("/journal", params={"action": "identity.set"})
        assert page.status_code == 200 and "identity.set" in page.text
        assert CANARY not in page.text and CANARY not in json.dumps(entries)
        bad = await client.get("/journal", params={"du": "hier"})
        assert bad.status_code in {400, 422}


async def test_the_net_entreprises_password_appears_in_no_page_answer_or_log(
    world: WebWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.web_routes import ROUTES

    asgi = asgi_app(world.app)
    async with client_as(asgi, "dupont") as client:
        made = await client.post("/api/v1/deposits", files={"file": ("a.dsn", world.dsn(0))})
        assert made.status_code == 201, made.text
        world.sim.advance("10m")
        world.sim.advance("4d")
        assert (await client.post("/api/v1/deposits/run")).status_code == 200
        envoi = made.json()["envois"][0]
    async with client_as(asgi, "tout") as client:
        paths = [
            case.request_url.replace("{target}", "dupont")
            for case in ROUTES
            if case.method == "GET" and not case.path.startswith("/api/v1/session")
        ]
        paths += [
            f"/depots/{envoi['id']}",
            f"/api/v1/deposits/{envoi['id']}",
            f"/retours/{envoi['idflux']}/10",
            f"/api/v1/returns/{envoi['idflux']}/10",
            f"/taux-pas?siret={world.employers[0]}",
            "/api/v1/openapi.json",
        ]
        seen = 0
        for path in paths:
            answer = await client.get(path)
            assert CANARY not in answer.text, path
            seen += answer.status_code == 200
        assert seen >= 25  # the unknown ids of the rights table answer 404
    out = capsys.readouterr()
    assert CANARY not in out.out and CANARY not in out.err


async def test_a_ban_shows_each_anomaly_at_its_line_and_rubrique(world: WebWorld) -> None:
    from datetime import UTC, datetime

    from dsnlink.pipeline.model import StoredReturn
    from dsnlink.returns.build import build_ban
    from dsnlink.returns.model import Anomaly

    ban = build_ban(
        [
            Anomaly(
                code="CCH-11",
                category="non-bloquant",
                message="La date de fin de contrat <précède> le début",
                line=42,
                rubrique="S21.G00.40.010",
                label="Date de fin prévisionnelle du contrat",
                value="01012020",
            ),
            Anomaly(
                code="SIG-12",
                category="bloquant",
                message="Le NIR est invalide",
                line=17,
                rubrique="S21.G00.30.001",
                value="1234",
            ),
        ],
        idflux="FLUXBAN1",
        siren=world.employers[0][:9],
        nic=world.employers[0][9:],
        emitter_siret=world.employers[0],
    )
    SqlLedger(world.app.db).upsert_return(
        StoredReturn(
            idflux="FLUXBAN1",
            nature="11",
            ops="",
            return_id="R1",
            status="disponible",
            published_at=datetime(2026, 11, 20, tzinfo=UTC),
            url="/x",
            content=ban,
            kind="BAN",
            ok=False,
            anomalies=2,
            blocking=1,
        )
    )
    asgi = asgi_app(world.app)
    async with client_as(asgi, "paie") as client:
        listed = await client.get("/retours", params={"anomalies": "oui"})
        assert "FLUXBAN1" in listed.text and "dont 1 bloquantes" in listed.text
        page = await client.get("/retours/FLUXBAN1/11")
        assert page.status_code == 200
        table = page.text.split('id="anomalies"')[1].split("</table>")[0]
        assert "<td>42</td>" in table and "S21.G00.40.010" in table and "01012020" in table
        assert "<td>17</td>" in table and "S21.G00.30.001" in table
        # Text from the file is escaped, never markup.
        assert "&lt;précède&gt;" in table and "<précède>" not in table
        parsed = (await client.get("/api/v1/returns/FLUXBAN1/11")).json()
        lines = sorted(a["line"] for a in parsed["document"]["envoi"]["anomalies"]) or sorted(
            a["line"] for d in parsed["document"]["declarations"] for a in d["anomalies"]
        )
        assert lines == [17, 42]
        raw = await client.get("/retours/FLUXBAN1/11/brut")
        assert raw.content == ban


async def test_the_navigation_shows_each_area_to_those_who_may_open_it(world: WebWorld) -> None:
    asgi = asgi_app(world.app)
    expected = {
        "dupont": {"Employeurs", "Dépôts", "Retours", "Taux PAS", "Échéances"},
        "paie": {"Retours", "Taux PAS", "Échéances"},
        "audit": {"Journal"},
        "config": {"Employeurs"},
        "rien": set(),
    }
    areas = ["Employeurs", "Dépôts", "Retours", "Taux PAS", "Échéances", "Journal"]
    for login, shown in expected.items():
        async with client_as(asgi, login) as client:
            page = await client.get(f"/comptes/{login}", follow_redirects=True)
            nav = page.text.split('class="navigation"')[1].split("</nav>")[0]
            assert {a for a in areas if f">{a}</a>" in nav} == shown, login


async def test_a_body_past_the_limit_is_cut_before_any_temporary_file(world: WebWorld) -> None:
    too_big = b"S10.G00.00.001,'x'\n" * (_uploads.MAX_BODY_BYTES // 19 + 10)
    asgi = asgi_app(world.app)
    async with client_as(asgi, "dupont") as client:
        for path, field in (("/depots/controle", "fichier"), ("/api/v1/deposits", "file")):
            answer = await client.post(path, files={field: ("gros.dsn", too_big, "text/plain")})
            assert answer.status_code == 413, (path, answer.text[:200])
    assert SqlLedger(world.app.db).envois() == []


async def test_listings_answered_as_built_have_exactly_their_models_shape(
    world: WebWorld,
) -> None:
    """The API listings send their rows without pydantic (``listing_json``): each answer must
    be what validating it against the route's model and dumping it gives, key for key."""
    from pydantic import BaseModel

    from dsnlink.web.routes.deadlines import DeadlineBoard
    from dsnlink.web.routes.deposits import DepositPage
    from dsnlink.web.routes.journal import JournalPage
    from dsnlink.web.routes.rates import RateTableOut
    from dsnlink.web.routes.returns import ReturnPage
    from tests.support.web_fill import fill

    filled = fill(world.app.db, deposits=30, returns=90, rates=60, employers=3, login="dupont")
    models: dict[str, type[BaseModel]] = {
        "/api/v1/deposits": DepositPage,
        "/api/v1/deposits?state=returns_pending&per_page=5": DepositPage,
        "/api/v1/returns": ReturnPage,
        "/api/v1/returns?kind=CRM94&page=2&per_page=3": ReturnPage,
        "/api/v1/journal": JournalPage,
        "/api/v1/deadlines?month=10/2026": DeadlineBoard,
        f"/api/v1/rates?siret={filled.sirets[0]}": RateTableOut,
        f"/api/v1/rates?siret={filled.sirets[1]}&changes=true&per_page=2": RateTableOut,
    }
    async with client_as(asgi_app(world.app), "tout") as client:
        for url, model in models.items():
            answer = await client.get(url)
            assert answer.status_code == 200, (url, answer.text)
            assert answer.headers["content-type"] == "application/json"
            body = answer.json()
            assert body["items"], url
            assert model.model_validate(body).model_dump(mode="json", by_alias=True) == body, url
