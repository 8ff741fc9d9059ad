"""The app's remote functions; importing this package declares them all in `web.remote.REGISTRY`."""

from __future__ import annotations

import importlib
import pkgutil

# Every module here is imported, so adding a file adds its functions and deleting one (a project
# made from the template without the demo) needs no edit here.
__all__ = sorted(module.name for module in pkgutil.iter_modules(__path__) if not module.name.startswith("_"))
for _name in __all__:
    importlib.import_module(f"{__name__}.{_name}")
