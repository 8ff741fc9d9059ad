"""Where the admin mount hands piccolo-admin's hooks what they need, in the ASGI scope it passes on."""

from __future__ import annotations

# The app's Services, as piccolo-admin's FastAPI app replaces scope["app"].
SERVICES_SCOPE_KEY = "remote_stack.services"
# The acting admin's user id (piccolo-admin puts its own user under scope["user"]).
ADMIN_SCOPE_KEY = "remote_stack.admin_id"
