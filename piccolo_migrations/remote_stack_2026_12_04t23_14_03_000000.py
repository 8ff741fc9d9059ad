from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-04T23:14:03:000000"
VERSION = "1.38.0"
DESCRIPTION = "memberships: unique (organization, user)"

INDEX = "memberships_organization_user_unique"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="remote_stack", description=DESCRIPTION)

    async def create_index() -> None:
        # A unique index rather than Piccolo's Unique constraint: SQLite has no ADD CONSTRAINT.
        engine = engine_finder()
        assert engine is not None
        await engine.run_ddl(
            f'CREATE UNIQUE INDEX IF NOT EXISTS {INDEX} ON memberships (organization, "user")'
        )

    async def drop_index() -> None:
        engine = engine_finder()
        assert engine is not None
        await engine.run_ddl(f"DROP INDEX IF EXISTS {INDEX}")

    manager.add_raw(create_index)
    manager.add_raw_backwards(drop_index)

    return manager
