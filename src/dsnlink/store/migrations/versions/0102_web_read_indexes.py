"""Indexes for the Centre de maintenance's lists: deposits and returns newest first, one
employer's rates of one month, the journal by actor and action.

Revision ID: 0102_web_read_indexes
Revises: 0101_pipeline_ledger
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0102_web_read_indexes"
down_revision: str | None = "0101_pipeline_ledger"
branch_labels = None
depends_on = None

_INDEXES = [
    ("ix_envois_created_at", "envois", ["created_at", "id"]),
    ("ix_envois_month", "envois", ["month"]),
    ("ix_return_files_published_at", "return_files", ["published_at", "idflux", "nature", "ops"]),
    (
        "ix_return_files_kind_published_at",
        "return_files",
        ["kind", "published_at", "idflux", "nature", "ops"],
    ),
    ("ix_pas_rates_siret_month_nir", "pas_rates", ["employer_siret", "month", "nir"]),
    ("ix_audit_log_actor_login", "audit_log", ["actor_login"]),
    ("ix_audit_log_action", "audit_log", ["action"]),
]


def upgrade() -> None:
    for name, table, columns in _INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _ in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
