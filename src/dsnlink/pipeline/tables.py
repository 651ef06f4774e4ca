"""The ledger's tables, on the store's one ``metadata`` (migration ``0101_pipeline_ledger``)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy import Date as SaDate

from dsnlink.store.tables import UtcDateTime, metadata

deposit_files = Table(
    "deposit_files",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("name", String(255), nullable=False),
    Column("size", Integer, nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("acting_login", String(64), nullable=False),
    Column("blocking", Boolean, nullable=False),
    Column("findings", JSON, nullable=False),
    Column("source", String(16), nullable=False),
)

envois = Table(
    "envois",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("file_id", String(32), ForeignKey("deposit_files.id"), nullable=False, index=True),
    Column("seq", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("declared_siret", String(14), nullable=False),
    Column("month", String(7), nullable=False),
    Column("nature", String(2), nullable=False),
    Column("type", String(2), nullable=False),
    Column("fraction", String(2), nullable=False),
    Column("is_test", Boolean, nullable=False),
    Column("employees", JSON, nullable=False),
    Column("state", String(20), nullable=False, index=True),
    Column("acting_login", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("identity_id", String(64), nullable=True, index=True),
    Column("role", String(8), nullable=False),
    Column("pair_id", String(32), nullable=True),
    Column("forced", Boolean, nullable=False),
    Column("idflux", String(50), nullable=True, index=True),
    Column("attempts", Integer, nullable=False),
    Column("sending_at", UtcDateTime(), nullable=True),
    Column("deposited_at", UtcDateTime(), nullable=True),
    Column("next_poll_at", UtcDateTime(), nullable=True),
    Column("polls", Integer, nullable=False),
    Column("error_code", String(64), nullable=True),
    Column("error_message", Text, nullable=True),
    Column("version", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Index("ix_envois_siret_month", "declared_siret", "month"),
    # The web's deposit list, newest first (migration 0102_web_read_indexes).
    Index("ix_envois_created_at", "created_at", "id"),
    # The deadline board: every envoi of one declared month (0102_web_read_indexes).
    Index("ix_envois_month", "month"),
    # The deposits of one state, newest first (0103_web_list_indexes).
    Index("ix_envois_state_created_at", "state", "created_at", "id"),
)

envoi_events = Table(
    "envoi_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("envoi_id", String(32), ForeignKey("envois.id"), nullable=False, index=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("from_state", String(20), nullable=True),
    Column("to_state", String(20), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("detail", Text, nullable=False),
)

return_files = Table(
    "return_files",
    metadata,
    Column("idflux", String(50), nullable=False),
    Column("nature", String(4), nullable=False),
    Column("ops", String(64), nullable=False),
    Column("return_id", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("published_at", UtcDateTime(), nullable=True),
    Column("url", Text, nullable=False),
    Column("identity_id", String(64), nullable=True),
    Column("envoi_id", String(32), nullable=True, index=True),
    Column("content", LargeBinary, nullable=True),
    Column("kind", String(16), nullable=True),
    Column("ok", Boolean, nullable=True),
    Column("anomalies", Integer, nullable=False),
    Column("blocking", Integer, nullable=False),
    Column("fetched_at", UtcDateTime(), nullable=True),
    PrimaryKeyConstraint("idflux", "nature", "ops"),
    # The web's returns list, newest first, optionally of one kind (0102_web_read_indexes).
    Index("ix_return_files_published_at", "published_at", "idflux", "nature", "ops"),
    Index("ix_return_files_kind_published_at", "kind", "published_at", "idflux", "nature", "ops"),
)

pas_rates = Table(
    "pas_rates",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("crm_key", String(100), nullable=False, index=True),
    Column("employer_siret", String(14), nullable=False, index=True),
    Column("month", String(7), nullable=False),
    Column("nir", String(15), nullable=False),
    Column("crm_identifier", String(64), nullable=False),
    Column("idflux", String(50), nullable=False),
    Column("published_at", UtcDateTime(), nullable=False),
    Column("valid_until", SaDate, nullable=False),
    Column("rate", Numeric(5, 2), nullable=True),
    Column("matricule", String(64), nullable=True),
    Column("name", String(200), nullable=True),
    Column("previous_rate", Numeric(5, 2), nullable=True),
    Column("previous_known", Boolean, nullable=False),
    UniqueConstraint("crm_key", "nir", name="uq_pas_rates_crm_key_nir"),
    # The web's rate table of one employer and month, by employee (0102_web_read_indexes).
    Index("ix_pas_rates_siret_month_nir", "employer_siret", "month", "nir"),
)

return_cursors = Table(
    "return_cursors",
    metadata,
    Column("identity_id", String(64), primary_key=True),
    Column("at", UtcDateTime(), nullable=False),
)

alerts_sent = Table(
    "alerts_sent",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("at", UtcDateTime(), nullable=False),
)

employer_policies = Table(
    "employer_policies",
    metadata,
    Column("siret", String(14), primary_key=True),
    Column("deadline_day", Integer, nullable=True),
    Column("test_first", Boolean, nullable=False),
)
