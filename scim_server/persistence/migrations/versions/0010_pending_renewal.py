"""a renewal waits for the end of the term: the next term's count per seat type

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """`org renew` changed the counts and moved the term at once; a renewal is now kept
    beside the counts it will replace when the current term ends (SEATS.md §2)."""
    with op.batch_alter_table('seat_allocations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('renewal', sa.Integer(), nullable=True))
        batch_op.create_check_constraint('renewal_not_negative', 'renewal IS NULL OR renewal >= 0')


def downgrade() -> None:
    with op.batch_alter_table('seat_allocations', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_seat_allocations_renewal_not_negative'), type_='check')
        batch_op.drop_column('renewal')
