"""members of a seat type in userName order: the seat type's index carries the userName key

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03

"""
from typing import Sequence, Union

from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """The Organization page filters by seat type and pages in userName order. A type held
    by thousands is found by walking the userName order (MemberRepository.page), which
    reads every member before the first holder: at 100,000 members on SQLite, 42 ms at
    p50 when the holders come late in the alphabet, 6.5 ms with the key in this index
    (benchmarks/README.md). The index replaces (org_pk, seat_type), which it begins with."""
    op.drop_index('ix_users_org_seat_type', table_name='users')
    op.create_index(
        'ix_users_org_seat_type_name', 'users', ['org_pk', 'seat_type', 'user_name_key']
    )


def downgrade() -> None:
    op.drop_index('ix_users_org_seat_type_name', table_name='users')
    op.create_index('ix_users_org_seat_type', 'users', ['org_pk', 'seat_type'])
