"""customer channels: bridged tickets, merges, notes said in the triage thread

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("bridged", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_tickets_merged_into_id_tickets"), "tickets", ["merged_into_id"], ["id"]
        )
        batch_op.create_index(
            "ix_tickets_grouping", ["source_channel", "requester", "created_at"], unique=False
        )
    with op.batch_alter_table("ticket_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_messages_author"), ["author"], unique=False)
    with op.batch_alter_table("ticket_notes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("ts", sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_ticket_notes_channel_ts"), ["channel", "ts"]
        )


def downgrade() -> None:
    with op.batch_alter_table("ticket_notes", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_ticket_notes_channel_ts"), type_="unique")
        batch_op.drop_column("ts")
        batch_op.drop_column("channel")
    with op.batch_alter_table("ticket_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_messages_author"))
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_grouping")
        batch_op.drop_constraint(
            batch_op.f("fk_tickets_merged_into_id_tickets"), type_="foreignkey"
        )
        batch_op.drop_column("merged_into_id")
        batch_op.drop_column("bridged")
