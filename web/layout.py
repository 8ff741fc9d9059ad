"""What the base layout calls in every template: live views, preferences and the organization menu."""

from __future__ import annotations

from jinja2 import Environment

from web import live_views, org_menu, preferences


def register_layout_helpers(environment: Environment) -> None:
    """Register them (TemplateConfig's engine_callback) in the app and in any test app alike."""
    live_views.register_template_helpers(environment)
    preferences.register_template_helpers(environment)
    org_menu.register_template_helpers(environment)
