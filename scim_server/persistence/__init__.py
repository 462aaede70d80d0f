"""SQLAlchemy 2.x models, repositories, the unit of work and Alembic migrations."""
