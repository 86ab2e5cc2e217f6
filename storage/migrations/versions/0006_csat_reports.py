"""csat and reports: the CSAT surveys, and the indexes the digests' aggregates read

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "csat_surveys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("requester", sa.String(length=32), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("customer", sa.String(length=200), nullable=True),
        sa.Column("assignee", sa.String(length=32), nullable=True),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("ts", sa.String(length=32), nullable=True),
        sa.Column("rating", sa.String(length=32), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_csat_surveys_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_csat_surveys")),
        sa.UniqueConstraint(
            "ticket_id", "asked_at", name=op.f("uq_csat_surveys_ticket_id_asked_at")
        ),
    )
    op.create_index("ix_csat_surveys_ticket_id", "csat_surveys", ["ticket_id"])
    op.create_index("ix_csat_surveys_answered_at", "csat_surveys", ["answered_at"])
    merged_away = sa.text("merged_into_id IS NULL")
    op.create_index(
        "ix_tickets_resolved_at_created_at",
        "tickets",
        ["resolved_at", "created_at"],
        sqlite_where=merged_away,
        postgresql_where=merged_away,
    )
    op.drop_index("ix_tickets_queue", table_name="tickets")
    op.create_index("ix_tickets_queue_created_at", "tickets", ["queue", "created_at"])
    op.drop_index("ix_ticket_tags_tag", table_name="ticket_tags")
    op.create_index("ix_tickets_first_response_at", "tickets", ["first_response_at"])
    op.create_index("ix_ticket_events_kind_at", "ticket_events", ["kind", "at"])
    op.create_index("ix_escalations_escalated_at", "escalations", ["escalated_at"])


def downgrade() -> None:
    op.drop_index("ix_escalations_escalated_at", table_name="escalations")
    op.drop_index("ix_ticket_events_kind_at", table_name="ticket_events")
    op.drop_index("ix_tickets_first_response_at", table_name="tickets")
    op.create_index("ix_ticket_tags_tag", "ticket_tags", ["tag"])
    op.drop_index("ix_tickets_queue_created_at", table_name="tickets")
    op.create_index("ix_tickets_queue", "tickets", ["queue"])
    op.drop_index("ix_tickets_resolved_at_created_at", table_name="tickets")
    op.drop_index("ix_csat_surveys_answered_at", table_name="csat_surveys")
    op.drop_index("ix_csat_surveys_ticket_id", table_name="csat_surveys")
    op.drop_table("csat_surveys")
