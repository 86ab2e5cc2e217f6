"""agent workflow: notes, agents, rotation, taxonomy

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 14:13:19.136148
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_status",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("away", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_agent_status")),
    )
    op.create_table(
        "queue_rotation",
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("last_agent", sa.String(length=32), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("queue", name=op.f("pk_queue_rotation")),
    )
    op.create_table(
        "usergroup_members",
        sa.Column("usergroup_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("usergroup_id", "user_id", name=op.f("pk_usergroup_members")),
    )
    op.create_table(
        "ticket_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_notes_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_notes")),
    )
    with op.batch_alter_table("ticket_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_notes_ticket_id"), ["ticket_id"], unique=False)

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("coalesce_key", sa.String(length=100), nullable=True))
        batch_op.create_index(batch_op.f("ix_outbox_coalesce_key"), ["coalesce_key"], unique=False)

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_tier", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("internal_priority", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("support_type", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("client_priority", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("departments", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.add_column(sa.Column("permalink", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_tickets_assignee_status", ["assignee", "status"], unique=False)
        batch_op.create_index(
            "ix_tickets_status_resolved_at", ["status", "resolved_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_coalesce_key"))
        batch_op.drop_column("coalesce_key")

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_status_resolved_at")
        batch_op.drop_index("ix_tickets_assignee_status")
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("permalink")
        batch_op.drop_column("departments")
        batch_op.drop_column("client_priority")
        batch_op.drop_column("support_type")
        batch_op.drop_column("internal_priority")
        batch_op.drop_column("customer_tier")

    with op.batch_alter_table("ticket_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_notes_ticket_id"))

    op.drop_table("ticket_notes")
    op.drop_table("usergroup_members")
    op.drop_table("queue_rotation")
    op.drop_table("agent_status")
