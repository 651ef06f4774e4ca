"""The paginated read models of the Centre de maintenance, on a real SQLite ledger."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, select, update

from dsnlink.errors import NotFound
from dsnlink.pipeline import listings
from dsnlink.pipeline.states import EnvoiState
from dsnlink.pipeline.tables import envois, pas_rates, return_files
from dsnlink.store import tables as t
from dsnlink.store.database import Database, open_database
from dsnlink.store.schema import upgrade
from tests.support.web_fill import Filled, fill


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path / 'ledger.db'}")
    upgrade(database)
    yield database
    database.dispose()


@pytest.fixture
def filled(db: Database) -> Filled:
    return fill(db, deposits=60, returns=240, rates=600, employers=3)


def test_deposits_newest_first_with_their_answer(db: Database, filled: Filled) -> None:
    page = listings.deposits(db, per_page=25)
    assert page.total == 60 and page.pages == 3 and len(page.items) == 25
    created = [row["created_at"] for row in page.items]
    assert created == sorted(created, reverse=True)
    first = page.items[0]
    assert first["answer"] == "AEE" and first["employer"].startswith("Employeur")
    assert first["file"].endswith(".dsn") and "data" not in first
    last = listings.deposits(db, per_page=25, page=3)
    assert len(last.items) == 10
    seen = {r["id"] for p in (1, 2, 3) for r in listings.deposits(db, per_page=25, page=p).items}
    assert seen == set(filled.envoi_ids)


def test_deposit_filters(db: Database, filled: Filled) -> None:
    siret = filled.sirets[1]
    page = listings.deposits(db, siret=siret)
    assert page.total == 20 and {r["siret"] for r in page.items} == {siret}
    pending = listings.deposits(db, states=[EnvoiState.RETURNS_PENDING])
    assert pending.total == sum(1 for i in range(60) if i % 7 == 0)
    assert {r["state_label"] for r in pending.items} == {"retours attendus"}
    one = listings.deposits(db, idflux=filled.idfluxes[5])
    assert [r["id"] for r in one.items] == [filled.envoi_ids[5]]
    assert listings.deposits(db, month="01/1990").total == 0
    counts = listings.deposit_counts(db)
    assert counts == {"returns_pending": pending.total, "complete": 60 - pending.total}


def test_deposit_without_answer_yet_and_an_are(db: Database, filled: Filled) -> None:
    with db.write() as conn:
        conn.execute(
            return_files.delete().where(
                return_files.c.idflux == filled.idfluxes[0], return_files.c.nature == "10"
            )
        )
        conn.execute(
            update(return_files)
            .where(return_files.c.idflux == filled.idfluxes[1], return_files.c.nature == "10")
            .values(kind="ARE", ok=False)
        )
    rows = {r["id"]: r for r in listings.deposits(db, per_page=200).items}
    assert rows[filled.envoi_ids[0]]["answer"] is None
    assert rows[filled.envoi_ids[1]]["answer"] == "ARE"


def test_returns_filters_and_content(db: Database, filled: Filled) -> None:
    page = listings.returns(db, per_page=50)
    assert page.total == 240
    published = [r["published_at"] for r in page.items]
    assert published == sorted(published, reverse=True)
    crm = listings.returns(db, kind="CRM94")
    assert crm.total == 60 and {r["kind"] for r in crm.items} == {"CRM94"}
    bans = listings.returns(db, with_anomalies=True)
    assert bans.total == sum(4 for i in range(60) if i % 5 == 0)
    mine = listings.returns(db, siret=filled.sirets[2])
    assert mine.total == 80 and {r["siret"] for r in mine.items} == {filled.sirets[2]}
    row, content = listings.return_content(db, filled.idfluxes[3], "10", "")
    assert content == b"<rapport/>" and row["size"] == len(content)
    with pytest.raises(NotFound):
        listings.return_content(db, "nope", "10", "")


def test_rates_table_months_changes_and_missing(db: Database, filled: Filled) -> None:
    siret = filled.sirets[0]
    months = listings.rate_months(db, siret)
    assert [m["month"] for m in months] == filled.months  # latest first
    assert all(m["count"] == 10 for m in months)
    # Employees 0, 4, 8 had another previous rate (8 has none now): changed, except the
    # oldest month whose previous rate is unknown.
    assert [m["changed"] for m in months] == [3] * (len(months) - 1) + [0]
    table = listings.rate_table(db, siret, filled.months[0])
    assert table.total == 10 and len(table.rates) == 10
    assert [r.nir for r in table.rates] == sorted(r.nir for r in table.rates)
    assert sum(r.changed for r in table.rates) == 3
    # Employee 8 got no rate from the CRM: listed as without rate (default scale).
    assert [p["matricule"] for p in table.without_rate] == ["M0008"]
    changed = listings.rate_table(db, siret, filled.months[0], changes_only=True)
    assert changed.total == 3 and all(r.changed for r in changed.rates)
    paged = listings.rate_table(db, siret, filled.months[0], per_page=4, page=3)
    assert len(paged.rates) == 2 and paged.pages == 3
    assert len(listings.all_rates(db, siret, filled.months[0])) == 10


def test_rates_of_an_employee_absent_from_the_crm(db: Database, filled: Filled) -> None:
    with db.write() as conn:
        conn.execute(
            pas_rates.delete().where(
                pas_rates.c.idflux == filled.idfluxes[0], pas_rates.c.matricule == "M0001"
            )
        )
    table = listings.rate_table(db, filled.sirets[0], filled.months[0])
    assert [p["matricule"] for p in table.without_rate] == ["M0001", "M0008"]


def test_journal_filters(db: Database) -> None:
    at = datetime(2026, 11, 1, tzinfo=UTC)
    with db.write() as conn:
        conn.execute(
            insert(t.audit_log),
            [
                {
                    "at": at.replace(day=1 + i % 20),
                    "actor_user_id": 1,
                    "actor_login": "Dupont" if i % 2 else "admin",
                    "as_whom": None,
                    "action": "identity.set" if i % 3 == 0 else "user%.create",
                    "object_type": "identity" if i % 3 == 0 else "user",
                    "object_id": str(i),
                    "detail": {"n": i},
                }
                for i in range(90)
            ],
        )
    page = listings.journal(db, per_page=20)
    assert page.total == 90 and page.items[0]["id"] > page.items[-1]["id"]
    assert listings.journal(db, actor="dupont").total == 45
    assert listings.journal(db, action="identity.").total == 30
    # A literal "%" in the filter is not a wildcard.
    assert listings.journal(db, action="user%").total == 60
    assert listings.journal(db, action="use_").total == 0
    assert listings.journal(db, object_type="user").total == 60
    since = listings.journal(db, since=at.replace(day=11), until=at.replace(day=12))
    assert since.total == sum(1 for i in range(90) if i % 20 == 10)
    assert listings.journal_actions(db) == ["identity.set", "user%.create"]


def test_page_bounds(db: Database, filled: Filled) -> None:
    page = listings.deposits(db, page=0, per_page=10_000)
    assert page.page == 1 and page.per_page == listings.MAX_PER_PAGE
    beyond = listings.deposits(db, page=99)
    assert beyond.items == [] and beyond.total == 60


def test_envoi_file(db: Database, filled: Filled) -> None:
    file = listings.file_of(db, filled.envoi_ids[0])
    assert file["name"].endswith(".dsn") and file["findings"] == []
    with pytest.raises(NotFound):
        listings.file_of(db, "missing")
    with db.read() as conn:
        assert conn.execute(envois.select()).first() is not None


def test_counts_kept_while_nothing_changes_and_fresh_after_any_commit(
    db: Database, filled: Filled
) -> None:
    """Counts are kept per connection while the database is unchanged (SQLite; PostgreSQL
    counts every time); a commit by this engine or by another one (another process) is seen by
    the next page, whichever pooled connection answers it."""
    from sqlalchemy import event

    counted: list[str] = []

    @event.listens_for(db.engine, "before_cursor_execute")
    def _seen(_conn: object, _cur: object, statement: str, *_args: object) -> None:
        if "count(*)" in statement:
            counted.append(statement)

    first = listings.deposit_counts(db)
    again = listings.deposit_counts(db)
    kept = db.is_sqlite
    # The second answered without counting.
    assert again == first and len(counted) == (1 if kept else 2)
    assert listings.returns(db).total == listings.returns(db).total == 240
    assert len(counted) == (2 if kept else 4)
    # A commit by another engine on the same database: the next read counts again.
    other = open_database(db.url.render_as_string(hide_password=False))
    try:
        with other.write() as conn:
            conn.execute(
                update(envois)
                .where(envois.c.id == filled.envoi_ids[0])
                .values(state=EnvoiState.SENDING.value)
            )
            conn.execute(
                return_files.delete().where(
                    return_files.c.idflux == filled.idfluxes[0], return_files.c.nature == "10"
                )
            )
    finally:
        other.dispose()
    changed = listings.deposit_counts(db)
    assert changed["sending"] == 1 and sum(changed.values()) == sum(first.values())
    assert listings.returns(db).total == 239
    # A commit through this engine (its own pooled connections) too.
    with db.write() as conn:
        conn.execute(
            update(envois)
            .where(envois.c.id == filled.envoi_ids[1])
            .values(state=EnvoiState.SENDING.value)
        )
    assert listings.deposit_counts(db)["sending"] == 2
    assert listings.deposits(db, states=[EnvoiState.SENDING], counts=True).total == 2
    # The deadline board's reads too: an envoi set to be examined shows at once.
    month = filled.months[0]
    now = datetime(2030, 1, 1, tzinfo=UTC)

    def board() -> dict[str, str]:
        items = listings.deadline_board(db, month=month, now=now, default_day=15)
        return {d["siret"]: d["status"] for d in items}

    before = board()
    with db.read() as conn:
        siret = conn.execute(
            select(envois.c.declared_siret).where(envois.c.month == month).limit(1)
        ).scalar_one_or_none()
    assert siret is not None
    assert before[siret] != "attention" and board() == before
    with db.write() as conn:
        conn.execute(
            update(envois)
            .where(envois.c.declared_siret == siret, envois.c.month == month)
            .values(state=EnvoiState.ATTENTION_NEEDED.value, deposited_at=None)
        )
    assert board()[siret] == "attention"
