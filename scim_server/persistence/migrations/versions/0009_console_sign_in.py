"""console sign-in: one-time sign-in links, and each member's last sign-in

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import scim_server.persistence.types

# revision identifiers, used by Alembic.
revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

PK = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    """The console (docs/console.md): links an operator makes, stored as their SHA-256 and
    used once; and when each member last signed in, indexed so that owners can list the
    members not seen for N days."""
    op.create_table('sign_in_links',
    sa.Column('pk', PK, autoincrement=True, nullable=False),
    sa.Column('org_pk', PK, nullable=False),
    sa.Column('user_pk', PK, nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', scim_server.persistence.types.UTCDateTime(), nullable=False),
    sa.Column('expires_at', scim_server.persistence.types.UTCDateTime(), nullable=False),
    sa.Column('used_at', scim_server.persistence.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['org_pk'], ['organizations.pk'], name=op.f('fk_sign_in_links_org_pk_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_pk'], ['users.pk'], name=op.f('fk_sign_in_links_user_pk_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_sign_in_links')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_sign_in_links_token_hash'))
    )
    op.create_index(op.f('ix_sign_in_links_user_pk'), 'sign_in_links', ['user_pk'], unique=False)
    with op.batch_alter_table('users') as batch_op:
        batch_op.add_column(sa.Column('last_sign_in_at', scim_server.persistence.types.UTCDateTime(), nullable=True))
    op.create_index('ix_users_org_last_sign_in', 'users', ['org_pk', 'last_sign_in_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_users_org_last_sign_in', table_name='users')
    with op.batch_alter_table('users') as batch_op:
        batch_op.drop_column('last_sign_in_at')
    op.drop_index(op.f('ix_sign_in_links_user_pk'), table_name='sign_in_links')
    op.drop_table('sign_in_links')
