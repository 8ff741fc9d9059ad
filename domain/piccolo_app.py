"""The Piccolo app holding our tables; its migrations live in the top-level piccolo_migrations/."""

from __future__ import annotations

from pathlib import Path

from piccolo.conf.apps import AppConfig, table_finder

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "piccolo_migrations"

APP_CONFIG = AppConfig(
    app_name="remote_stack",
    migrations_folder_path=str(MIGRATIONS_DIR),
    table_classes=table_finder(
        modules=["domain.auth.tables", "domain.admin.tables", "domain.orgs.tables"], exclude_imported=True
    ),
    migration_dependencies=[],
    commands=[],
)
