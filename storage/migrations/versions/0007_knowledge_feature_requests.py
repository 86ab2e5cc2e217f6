"""knowledge base and feature requests: indexed articles and their passages, suggestions offered
to requesters, and the feature-request board

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "kb_articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("indexed_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_articles")),
        sa.UniqueConstraint("path", name=op.f("uq_kb_articles_path")),
    )
    op.create_table(
        "kb_passages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("heading", sa.String(length=300), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["kb_articles.id"],
            name=op.f("fk_kb_passages_article_id_kb_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_passages")),
        sa.UniqueConstraint(
            "article_id", "position", name=op.f("uq_kb_passages_article_id_position")
        ),
    )
    op.create_table(
        "kb_index",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("indexed_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_kb_index")),
    )
    op.create_table(
        "kb_suggestions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("requester", sa.String(length=32), nullable=False),
        sa.Column("articles", sa.JSON(), nullable=False),
        sa.Column("suggested_by", sa.String(length=32), nullable=True),
        sa.Column("suggested_at", UTC_TIME, nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("ts", sa.String(length=32), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("answered_by", sa.String(length=32), nullable=True),
        sa.Column("answered_at", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_kb_suggestions_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_suggestions")),
    )
    op.create_index("ix_kb_suggestions_ticket_id", "kb_suggestions", ["ticket_id"])
    op.create_index("ix_kb_suggestions_suggested_at", "kb_suggestions", ["suggested_at"])
    op.create_index("ix_kb_suggestions_answered_at", "kb_suggestions", ["answered_at"])
    op.create_table(
        "feature_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("product", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.Column("status_by", sa.String(length=32), nullable=True),
        sa.Column("status_at", UTC_TIME, nullable=True),
        sa.Column("shipped_at", UTC_TIME, nullable=True),
        sa.Column("release_note", sa.Text(), nullable=True),
        sa.Column("card_channel", sa.String(length=32), nullable=True),
        sa.Column("card_ts", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feature_requests")),
    )
    op.create_index("ix_feature_requests_shipped_at", "feature_requests", ["shipped_at"])
    op.create_table(
        "feature_request_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feature_request_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("requester", sa.String(length=32), nullable=False),
        sa.Column("customer", sa.String(length=200), nullable=True),
        sa.Column("tier", sa.String(length=64), nullable=True),
        sa.Column("linked_by", sa.String(length=32), nullable=True),
        sa.Column("linked_at", UTC_TIME, nullable=False),
        sa.Column("notified_at", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["feature_request_id"],
            ["feature_requests.id"],
            name=op.f("fk_feature_request_links_feature_request_id_feature_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_feature_request_links_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feature_request_links")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_feature_request_links_ticket_id")),
    )
    op.create_index(
        "ix_feature_request_links_feature_request_id",
        "feature_request_links",
        ["feature_request_id"],
    )


def downgrade() -> None:
    op.drop_table("feature_request_links")
    op.drop_table("feature_requests")
    op.drop_table("kb_suggestions")
    op.drop_table("kb_index")
    op.drop_table("kb_passages")
    op.drop_table("kb_articles")
