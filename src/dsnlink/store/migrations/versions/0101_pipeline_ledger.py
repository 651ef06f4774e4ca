"""Pipeline ledger: received files, envois and their events, returns, PAS rates, cursors,
alerts sent, employer policies.

Revision ID: 0101_pipeline_ledger
Revises: 0001_foundation
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0101_pipeline_ledger"
down_revision: str | None = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alerts_sent",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_alerts_sent")),
    )
    op.create_table(
        "deposit_files",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acting_login", sa.String(length=64), nullable=False),
        sa.Column("blocking", sa.Boolean(), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deposit_files")),
        sa.UniqueConstraint("sha256", name=op.f("uq_deposit_files_sha256")),
    )
    op.create_table(
        "employer_policies",
        sa.Column("siret", sa.String(length=14), nullable=False),
        sa.Column("deadline_day", sa.Integer(), nullable=True),
        sa.Column("test_first", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("siret", name=op.f("pk_employer_policies")),
    )
    op.create_table(
        "pas_rates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("crm_key", sa.String(length=100), nullable=False),
        sa.Column("employer_siret", sa.String(length=14), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("nir", sa.String(length=15), nullable=False),
        sa.Column("crm_identifier", sa.String(length=64), nullable=False),
        sa.Column("idflux", sa.String(length=50), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("rate", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column("matricule", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("previous_rate", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column("previous_known", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pas_rates")),
        sa.UniqueConstraint("crm_key", "nir", name="uq_pas_rates_crm_key_nir"),
    )
    op.create_index(op.f("ix_pas_rates_crm_key"), "pas_rates", ["crm_key"], unique=False)
    op.create_index(
        op.f("ix_pas_rates_employer_siret"), "pas_rates", ["employer_siret"], unique=False
    )
    op.create_table(
        "return_cursors",
        sa.Column("identity_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("identity_id", name=op.f("pk_return_cursors")),
    )
    op.create_table(
        "return_files",
        sa.Column("idflux", sa.String(length=50), nullable=False),
        sa.Column("nature", sa.String(length=4), nullable=False),
        sa.Column("ops", sa.String(length=64), nullable=False),
        sa.Column("return_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("identity_id", sa.String(length=64), nullable=True),
        sa.Column("envoi_id", sa.String(length=32), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=True),
        sa.Column("anomalies", sa.Integer(), nullable=False),
        sa.Column("blocking", sa.Integer(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("idflux", "nature", "ops", name=op.f("pk_return_files")),
    )
    op.create_index(op.f("ix_return_files_envoi_id"), "return_files", ["envoi_id"], unique=False)
    op.create_table(
        "envois",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("file_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("declared_siret", sa.String(length=14), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("nature", sa.String(length=2), nullable=False),
        sa.Column("type", sa.String(length=2), nullable=False),
        sa.Column("fraction", sa.String(length=2), nullable=False),
        sa.Column("is_test", sa.Boolean(), nullable=False),
        sa.Column("employees", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("acting_login", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("identity_id", sa.String(length=64), nullable=True),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("pair_id", sa.String(length=32), nullable=True),
        sa.Column("forced", sa.Boolean(), nullable=False),
        sa.Column("idflux", sa.String(length=50), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sending_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deposited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_poll_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("polls", sa.Integer(), nullable=False),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"], ["deposit_files.id"], name=op.f("fk_envois_file_id_deposit_files")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_envois")),
    )
    op.create_index(op.f("ix_envois_file_id"), "envois", ["file_id"], unique=False)
    op.create_index(op.f("ix_envois_identity_id"), "envois", ["identity_id"], unique=False)
    op.create_index(op.f("ix_envois_idflux"), "envois", ["idflux"], unique=False)
    op.create_index("ix_envois_siret_month", "envois", ["declared_siret", "month"], unique=False)
    op.create_index(op.f("ix_envois_state"), "envois", ["state"], unique=False)
    op.create_table(
        "envoi_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("envoi_id", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("from_state", sa.String(length=20), nullable=True),
        sa.Column("to_state", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["envoi_id"], ["envois.id"], name=op.f("fk_envoi_events_envoi_id_envois")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_envoi_events")),
    )
    op.create_index(op.f("ix_envoi_events_envoi_id"), "envoi_events", ["envoi_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_envoi_events_envoi_id"), table_name="envoi_events")
    op.drop_table("envoi_events")
    op.drop_index(op.f("ix_envois_state"), table_name="envois")
    op.drop_index("ix_envois_siret_month", table_name="envois")
    op.drop_index(op.f("ix_envois_idflux"), table_name="envois")
    op.drop_index(op.f("ix_envois_identity_id"), table_name="envois")
    op.drop_index(op.f("ix_envois_file_id"), table_name="envois")
    op.drop_table("envois")
    op.drop_index(op.f("ix_return_files_envoi_id"), table_name="return_files")
    op.drop_table("return_files")
    op.drop_table("return_cursors")
    op.drop_index(op.f("ix_pas_rates_employer_siret"), table_name="pas_rates")
    op.drop_index(op.f("ix_pas_rates_crm_key"), table_name="pas_rates")
    op.drop_table("pas_rates")
    op.drop_table("employer_policies")
    op.drop_table("deposit_files")
    op.drop_table("alerts_sent")
