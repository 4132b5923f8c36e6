"""shadow_scores (a shadow model's per-camera, per-hour, day/night comparison with the live
one) and zones.previous_model_version (so a model rollback is one action)

Revision ID: 0004
Revises: 0003
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import db.base

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('shadow_scores',
    sa.Column('camera_id', sa.String(length=64), nullable=False),
    sa.Column('model_version', sa.String(length=64), nullable=False),
    sa.Column('hour', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('is_night', sa.Boolean(), nullable=False),
    sa.Column('zone_id', sa.String(length=64), nullable=False),
    sa.Column('n_frames', sa.Integer(), nullable=False),
    sa.Column('n_above_threshold', sa.Integer(), nullable=False),
    sa.Column('n_agree', sa.Integer(), nullable=False),
    sa.Column('n_shadow_only', sa.Integer(), nullable=False),
    sa.Column('n_live_only', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['camera_id'], ['cameras.id'], name=op.f('fk_shadow_scores_camera_id_cameras')),
    sa.ForeignKeyConstraint(['zone_id'], ['zones.id'], name=op.f('fk_shadow_scores_zone_id_zones')),
    sa.PrimaryKeyConstraint('camera_id', 'model_version', 'hour', 'is_night', name=op.f('pk_shadow_scores'))
    )
    with op.batch_alter_table('shadow_scores', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shadow_scores_zone_id'), ['zone_id'], unique=False)

    with op.batch_alter_table('zones', schema=None) as batch_op:
        batch_op.add_column(sa.Column('previous_model_version', sa.String(length=64), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('zones', schema=None) as batch_op:
        batch_op.drop_column('previous_model_version')

    with op.batch_alter_table('shadow_scores', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shadow_scores_zone_id'))

    op.drop_table('shadow_scores')
