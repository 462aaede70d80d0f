"""the waiting line's index holds only the members who wait

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

WAITING = sa.text('waiting_since IS NOT NULL')


def upgrade() -> None:
    """Every member had an entry, nearly all of them NULL, and every create wrote one more
    index page to the log for it; the waiting line's queries all say IS NOT NULL."""
    op.drop_index('ix_users_org_waiting', table_name='users')
    op.create_index(
        'ix_users_org_waiting', 'users', ['org_pk', 'waiting_since'], unique=False,
        sqlite_where=WAITING, postgresql_where=WAITING,
    )


def downgrade() -> None:
    op.drop_index('ix_users_org_waiting', table_name='users')
    op.create_index('ix_users_org_waiting', 'users', ['org_pk', 'waiting_since'], unique=False)
