"""Piccolo's configuration: the engine named by DATABASE_URL and the registered apps."""

from piccolo.conf.apps import AppRegistry

from domain.db import make_engine
from settings import Settings

DB = make_engine(Settings.from_env().resolved_database_url)

APP_REGISTRY = AppRegistry(apps=["domain.piccolo_app"])
