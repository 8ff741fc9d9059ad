from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-29T03:09:00:653310"
VERSION = "1.38.0"
DESCRIPTION = "accounts: unique (provider, provider_account_id)"

INDEX = "accounts_provider_account_unique"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="remote_stack", description=DESCRIPTION)

    async def create_index() -> None:
        # A unique index rather than Piccolo's Unique constraint: SQLite has no ADD CONSTRAINT.
        engine = engine_finder()
        assert engine is not None
        await engine.run_ddl(
            f"CREATE UNIQUE INDEX IF NOT EXISTS {INDEX} ON accounts (provider, provider_account_id)"
        )

    async def drop_index() -> None:
        engine = engine_finder()
        assert engine is not None
        await engine.run_ddl(f"DROP INDEX IF EXISTS {INDEX}")

    manager.add_raw(create_index)
    manager.add_raw_backwards(drop_index)

    return manager
