"""site_status and replica_status: what each edge site last told the centre (one row per site,
overwritten on each contact), and each detector replica's latest figures as the centre copied
them from the Ray stats board (the set replaced on each copy), so the Cameras page and
`bearwatch status` show them without joining Ray

Both start empty: nothing recorded them before.

Revision ID: 0012
Revises: 0011
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import db.base

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'site_status',
        sa.Column('site_id', sa.String(length=64), nullable=False),
        sa.Column('at', db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('boot', sa.String(length=64), nullable=False),
        sa.Column('backlog_frames', sa.BigInteger(), nullable=False),
        sa.Column('backlog_bytes', sa.BigInteger(), nullable=False),
        sa.Column('oldest_backlog_at', db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('backlog_dropped', sa.BigInteger(), nullable=False),
        sa.Column('frames_sent', sa.BigInteger(), nullable=False),
        sa.Column('rss_mb', sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint('site_id', name=op.f('pk_site_status')),
    )
    op.create_table(
        'replica_status',
        sa.Column('replica', sa.String(length=128), nullable=False),
        sa.Column('pid', sa.Integer(), nullable=False),
        sa.Column('node', sa.String(length=64), nullable=False),
        sa.Column('rss_mb', sa.Float(), nullable=True),
        sa.Column('batches', sa.BigInteger(), nullable=False),
        sa.Column('images', sa.BigInteger(), nullable=False),
        sa.Column('mean_batch', sa.Float(), nullable=False),
        sa.Column('last_batch', sa.Integer(), nullable=False),
        sa.Column('queue', sa.Integer(), nullable=False),
        sa.Column('ongoing', sa.Integer(), nullable=False),
        sa.Column('latency_p50_ms', sa.Float(), nullable=False),
        sa.Column('latency_p99_ms', sa.Float(), nullable=False),
        sa.Column('mean_forward_ms', sa.Float(), nullable=False),
        sa.Column('errors', sa.BigInteger(), nullable=False),
        sa.Column('rejected', sa.BigInteger(), nullable=False),
        sa.Column('reported_at', db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('stored_at', db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('replica', name=op.f('pk_replica_status')),
    )


def downgrade() -> None:
    op.drop_table('replica_status')
    op.drop_table('site_status')
