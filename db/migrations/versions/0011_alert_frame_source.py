"""alert_frames.source_ref: where each counted frame came from (a still's file path; '' for a
stream frame), so a still scored again after a crash (committed, killed before its file was
marked done, re-read under the new process's sequence numbers) is not stored twice in its alert

Frames stored before keep '' and are told apart by (seq, capture time), as before.

Revision ID: 0011
Revises: 0010
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('alert_frames', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_ref', sa.Text(), nullable=False,
                                      server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('alert_frames', schema=None) as batch_op:
        batch_op.drop_column('source_ref')
