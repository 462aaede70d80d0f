"""group mappings stored per organization; JIT members' groups claim

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import scim_server.persistence.types

# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql')


def upgrade() -> None:
    """One mapping per organization (SEATS.md §5); the groups claim of JIT members (§6)."""
    op.create_table('group_mappings',
    sa.Column('org_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('media_type', sa.String(length=64), nullable=False),
    sa.Column('rules', DOCUMENT, nullable=False),
    sa.Column('updated_at', scim_server.persistence.types.UTCDateTime(), nullable=False),
    sa.Column('updated_by', sa.String(length=255), nullable=True),
    sa.ForeignKeyConstraint(['org_pk'], ['organizations.pk'], name=op.f('fk_group_mappings_org_pk_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('org_pk', name=op.f('pk_group_mappings'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claim_groups', DOCUMENT, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('claim_groups')
    op.drop_table('group_mappings')
