"""Index for the Centre de maintenance's deposits of one state, newest first.

Revision ID: 0103_web_list_indexes
Revises: 0102_web_read_indexes
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0103_web_list_indexes"
down_revision: str | None = "0102_web_read_indexes"
branch_labels = None
depends_on = None

_INDEXES = [
    ("ix_envois_state_created_at", "envois", ["state", "created_at", "id"]),
]


def upgrade() -> None:
    for name, table, columns in _INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _ in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
