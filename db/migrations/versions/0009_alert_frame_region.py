"""alert_frames.region_x/y/w/h: the detector's region that gave each frame its score (px of the
frame's own image), so the Review page draws the box over every frame of the filmstrip

Frames stored before keep NULL (no box: the whole frame, as before).

Revision ID: 0009
Revises: 0008
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

COLUMNS = ('region_x', 'region_y', 'region_w', 'region_h')


def upgrade() -> None:
    with op.batch_alter_table('alert_frames', schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('alert_frames', schema=None) as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
