"""no index on users' displayName: no query could use it

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24

"""
from typing import Sequence, Union

from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """A User's displayName is compared as lower(display_name) (caseExact false) and sorted
    the same way, which an index on the column itself cannot serve: at 100,000 users a
    displayName filter or sort took 56-61 ms with it or without it. Every create and
    rename still wrote 1.37 pages of it to the log."""
    op.drop_index('ix_users_org_display_name', table_name='users')


def downgrade() -> None:
    op.create_index('ix_users_org_display_name', 'users', ['org_pk', 'display_name'], unique=False)
