"""alert frames unique on (alert, seq, capture time): seq restarts with the process

Revision ID: 0003
Revises: 0002
"""
from __future__ import annotations

from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('alert_frames', schema=None) as batch_op:
        batch_op.drop_constraint('uq_alert_frames_alert_seq', type_='unique')
        batch_op.create_unique_constraint('uq_alert_frames_alert_seq_time',
                                          ['alert_id', 'seq', 'captured_at'])


def downgrade() -> None:
    with op.batch_alter_table('alert_frames', schema=None) as batch_op:
        batch_op.drop_constraint('uq_alert_frames_alert_seq_time', type_='unique')
        batch_op.create_unique_constraint('uq_alert_frames_alert_seq', ['alert_id', 'seq'])
