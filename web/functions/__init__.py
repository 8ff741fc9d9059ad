"""The app's remote functions; importing this package declares them all in `web.remote.REGISTRY`."""

from __future__ import annotations

from web.functions import counter

__all__ = ["counter"]
