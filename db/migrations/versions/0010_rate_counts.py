"""rate_counts: the counts behind the rates per zone, camera and UTC hour, kept by the writers
(db.rate_counts), so all zones' rates over 30 days read counters instead of a million alerts;
filled here from the rows already stored

The backfill runs db.rate_counts.rebuild_counts, the writers' own counting, so the counters
start equal to the from-scratch queries. A later migration that changes rate_counts must give
this one a frozen copy of that backfill first.

Revision ID: 0010
Revises: 0009
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

COUNT_COLUMNS = (
    'alerts', 'bear', 'no_bear', 'unsure', 'night_alerts', 'night_bear', 'night_no_bear',
    'audit_reviewed', 'audit_bear', 'audit_w', 'audit_w2', 'audit_night_bear', 'audit_night_w',
    'audit_night_w2', 'missed', 'missed_night',
    *(f'lat_{i:02d}' for i in range(48)),
)


def upgrade() -> None:
    for table, bucket in (('rate_counts', 'hour'), ('rate_counts_daily', 'day')):
        op.create_table(
            table,
            sa.Column(bucket, sa.Integer(), nullable=False),
            sa.Column('zone_id', sa.String(length=64), nullable=False),
            sa.Column('camera_id', sa.String(length=64), nullable=False),
            *[sa.Column(name, sa.BigInteger(), server_default='0', nullable=False)
              for name in COUNT_COLUMNS],
            sa.PrimaryKeyConstraint(bucket, 'zone_id', 'camera_id', name=op.f(f'pk_{table}')),
            sqlite_with_rowid=False,  # the key is the table: a window is one range of it
        )
    op.create_index('ix_audit_samples_camera_time', 'audit_samples', ['camera_id', 'captured_at'])
    from db.rate_counts import rebuild_counts

    session = Session(bind=op.get_bind())
    rebuild_counts(session)
    session.flush()


def downgrade() -> None:
    op.drop_table('rate_counts_daily')
    op.drop_table('rate_counts')
    op.drop_index('ix_audit_samples_camera_time', table_name='audit_samples')
