"""sla: the SLA clock's columns on tickets, alerts sent once, scheduled jobs claimed once

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.add_column(sa.Column("sla_started_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("first_response_warn_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("resolution_warn_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("sla_next_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("sla_paused_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("sla_paused", sa.Interval(), nullable=True))
        batch_op.add_column(sa.Column("first_response_seconds", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("resolution_seconds", sa.Integer(), nullable=True))
        batch_op.create_index("ix_tickets_sla_next_at", ["sla_next_at"], unique=False)
    # Tickets opened before the SLA engine: their clock started when they opened, and the first
    # sweep plans them (their next look is now).
    tickets = sa.table(
        "tickets",
        sa.column("status", sa.String),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("sla_started_at", sa.DateTime(timezone=True)),
        sa.column("sla_next_at", sa.DateTime(timezone=True)),
    )
    op.execute(tickets.update().values(sla_started_at=tickets.c.created_at))
    op.execute(
        tickets.update()
        .where(tickets.c.status.in_(["open", "claimed", "waiting_on_customer", "escalated"]))
        .values(sla_next_at=tickets.c.created_at)
    )
    op.create_table(
        "sla_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_sla_alerts_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_alerts")),
        sa.UniqueConstraint(
            "ticket_id", "target", "level", name=op.f("uq_sla_alerts_ticket_id_target_level")
        ),
    )
    op.create_index(op.f("ix_sla_alerts_fired_at"), "sla_alerts", ["fired_at"], unique=False)
    op.create_index("ix_outbox_waiting", "outbox", ["coalesce_key", "status"], unique=False)
    op.create_table(
        "job_runs",
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=64), nullable=False),
        sa.Column("claimed_by", sa.String(length=128), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("job", "period", name=op.f("pk_job_runs")),
    )


def downgrade() -> None:
    op.drop_table("job_runs")
    op.drop_index("ix_outbox_waiting", table_name="outbox")
    op.drop_index(op.f("ix_sla_alerts_fired_at"), table_name="sla_alerts")
    op.drop_table("sla_alerts")
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.drop_index("ix_tickets_sla_next_at")
        for column in (
            "resolution_seconds",
            "first_response_seconds",
            "sla_paused",
            "sla_paused_at",
            "sla_next_at",
            "resolution_warn_at",
            "first_response_warn_at",
            "sla_started_at",
        ):
            batch_op.drop_column(column)
