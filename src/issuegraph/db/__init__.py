"""Engine, session, ORM models and Alembic migrations."""
