"""OIDC sign-in: provider settings per organization, identities linked to members

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import scim_server.persistence.types

# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql')
PK = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    """SEATS.md §6: one provider per organization (its client secret sealed), and the
    (issuer, subject) each JIT member signs in with."""
    op.create_table('oidc_settings',
    sa.Column('org_pk', PK, nullable=False),
    sa.Column('issuer', sa.String(length=1024), nullable=False),
    sa.Column('client_id', sa.String(length=255), nullable=False),
    sa.Column('client_secret_sealed', sa.Text(), nullable=False),
    sa.Column('groups_claim', sa.String(length=255), nullable=False),
    sa.Column('allowed_domains', DOCUMENT, nullable=False),
    sa.Column('updated_at', scim_server.persistence.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['org_pk'], ['organizations.pk'], name=op.f('fk_oidc_settings_org_pk_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('org_pk', name=op.f('pk_oidc_settings'))
    )
    op.create_table('oidc_identities',
    sa.Column('pk', PK, autoincrement=True, nullable=False),
    sa.Column('org_pk', PK, nullable=False),
    sa.Column('user_pk', PK, nullable=False),
    sa.Column('issuer', sa.String(length=1024), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('created_at', scim_server.persistence.types.UTCDateTime(), nullable=False),
    sa.Column('last_sign_in_at', scim_server.persistence.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['org_pk'], ['organizations.pk'], name=op.f('fk_oidc_identities_org_pk_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_pk'], ['users.pk'], name=op.f('fk_oidc_identities_user_pk_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_oidc_identities')),
    sa.UniqueConstraint('org_pk', 'issuer', 'subject', name='uq_oidc_identities_subject'),
    sa.UniqueConstraint('user_pk', name=op.f('uq_oidc_identities_user_pk'))
    )


def downgrade() -> None:
    op.drop_table('oidc_identities')
    op.drop_table('oidc_settings')
