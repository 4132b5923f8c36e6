"""zones.threshold_override (+ who set it, when): an admin's calibrated per-frame threshold
that replaces the config's for the zone until cleared

Revision ID: 0005
Revises: 0004
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import db.base

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('zones', schema=None) as batch_op:
        batch_op.add_column(sa.Column('threshold_override', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('threshold_set_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('threshold_set_at', db.base.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.create_check_constraint(batch_op.f('ck_zones_threshold_override'),
                                         'threshold_override >= 0 AND threshold_override <= 1')


def downgrade() -> None:
    with op.batch_alter_table('zones', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_zones_threshold_override'), type_='check')
        batch_op.drop_column('threshold_set_at')
        batch_op.drop_column('threshold_set_by')
        batch_op.drop_column('threshold_override')
