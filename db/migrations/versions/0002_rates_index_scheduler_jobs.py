"""Rates covering index on alerts; the APScheduler job store table (rollout controller).

The rate aggregates read zone + time range and a few columns; an index holding all of them
makes a 30-day, all-zones GROUP BY index-only. It supersedes ix_alerts_zone_time (same prefix).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 06:41:47.203539
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A database that ran the 0001 controller already has the table APScheduler made itself
    # (same columns and index); adopt it instead of failing.
    if sa.inspect(op.get_bind()).has_table('apscheduler_jobs'):
        _alerts_index()
        return
    op.create_table('apscheduler_jobs',
    sa.Column('id', sa.Unicode(length=191), nullable=False),
    sa.Column('next_run_time', sa.Float(precision=25), nullable=True),
    sa.Column('job_state', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_apscheduler_jobs'))
    )
    with op.batch_alter_table('apscheduler_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_apscheduler_jobs_next_run_time'), ['next_run_time'], unique=False)
    _alerts_index()


def _alerts_index() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alerts_zone_time'))
        batch_op.create_index('ix_alerts_zone_time_rates', ['zone_id', 'first_seen', 'is_drill', 'camera_id', 'is_night', 'review_state', 'verdict', 'committed_at', 'reviewed_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_alerts_zone_time_rates')
        batch_op.create_index(batch_op.f('ix_alerts_zone_time'), ['zone_id', 'first_seen'], unique=False)

    with op.batch_alter_table('apscheduler_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_apscheduler_jobs_next_run_time'))

    op.drop_table('apscheduler_jobs')
