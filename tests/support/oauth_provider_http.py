"""The local OAuth provider over HTTP: authorize (consent), token, discovery, JWKS, userinfo, GitHub API."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import OAuth2Error
from litestar import Litestar, Request, Response, get, post, route
from litestar.enums import HttpMethod

from tests.support.oauth_provider_models import FormRequest, ProviderUser

if TYPE_CHECKING:
    from tests.support.oauth_provider import OAuthProvider

AnyRequest = Request[Any, Any, Any]


async def _authlib_request(request: AnyRequest) -> FormRequest:
    form: dict[str, str] = {}
    if request.method == "POST":
        data = await request.form()
        form = {k: v for k, v in data.items() if isinstance(v, str)}
    return FormRequest(
        request.method,
        str(request.url),
        request.headers,  # case-insensitive, as authlib expects ("Authorization")
        dict(request.query_params),
        form,
    )


def _bearer(provider: OAuthProvider, request: AnyRequest) -> tuple[ProviderUser, str] | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() not in {"bearer", "token"}:
        return None
    return provider.tokens.get(token.strip())


def _unauthorized() -> Response[Any]:
    return Response({"message": "Bad credentials"}, status_code=401)


def _consent_page(request: AnyRequest, provider: OAuthProvider) -> str:
    query = urlencode(dict(request.query_params))
    users = "".join(
        f'<option value="{html.escape(key)}">{html.escape(u.name)}</option>'
        for key, u in provider.users.items()
    )
    return (
        "<!doctype html><title>Authorize</title>"
        f'<form method="post" action="{html.escape(request.url.path)}?{html.escape(query)}">'
        f'<select name="login">{users}</select>'
        '<button name="decision" value="allow">Allow</button>'
        '<button name="decision" value="deny">Deny</button></form>'
    )


def build_app(provider: OAuthProvider) -> Litestar:
    @route(
        ["/oauth2/authorize", "/login/oauth/authorize"],
        http_method=[HttpMethod.GET, HttpMethod.POST],
        status_code=200,
    )
    async def authorize(request: AnyRequest) -> Response[Any]:
        if provider.fail_status:
            return Response("down", status_code=provider.fail_status, media_type="text/plain")
        oauth_request = await _authlib_request(request)
        end_user = provider.users.get(oauth_request.form.get("login", ""))
        try:
            grant = provider.server.get_consent_grant(oauth_request, end_user=end_user)
        except OAuth2Error as error:
            if error.redirect_uri:
                return provider.server.handle_error_response(oauth_request, error)  # type: ignore[no-any-return]
            return Response(f"{error.error}: {error.description}", status_code=400, media_type="text/plain")
        if request.method == "GET":
            return Response(_consent_page(request, provider), media_type="text/html")
        decision = oauth_request.form.get("decision", "deny")
        if decision == "allow" and end_user is not None:
            return provider.server.create_authorization_response(  # type: ignore[no-any-return]
                oauth_request, grant_user=end_user, grant=grant
            )
        if decision == "deny":
            return provider.server.create_authorization_response(  # type: ignore[no-any-return]
                oauth_request, grant_user=None, grant=grant
            )
        # Any other decision is an error code the provider reports back (server_error, ...).
        redirect_uri = grant.validate_authorization_request()
        params = [("error", decision), ("state", oauth_request.payload.state or "")]
        return Response(None, status_code=302, headers={"Location": add_params_to_uri(redirect_uri, params)})

    @post(["/oauth2/token", "/login/oauth/access_token"], status_code=200)
    async def token(request: AnyRequest) -> Response[Any]:
        if provider.fail_status:
            return Response("down", status_code=provider.fail_status, media_type="text/plain")
        return provider.server.create_token_response(await _authlib_request(request))  # type: ignore[no-any-return]

    @get("/.well-known/openid-configuration")
    async def discovery() -> Response[Any]:
        if provider.fail_status:
            return Response("down", status_code=provider.fail_status, media_type="text/plain")
        base = provider.base_url
        return Response(
            {
                "issuer": base,
                "authorization_endpoint": f"{base}/oauth2/authorize",
                "token_endpoint": f"{base}/oauth2/token",
                "userinfo_endpoint": f"{base}/oauth2/userinfo",
                "jwks_uri": f"{base}/oauth2/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "email", "profile"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "code_challenge_methods_supported": ["S256"],
            }
        )

    @get("/oauth2/jwks")
    async def jwks() -> dict[str, Any]:
        provider.jwks_requests += 1
        return {"keys": [provider.key.as_dict(private=False)]}

    @get("/oauth2/userinfo")
    async def userinfo(request: AnyRequest) -> Response[Any]:
        found = _bearer(provider, request)
        if found is None:
            return _unauthorized()
        user, scope = found
        return Response(provider.userinfo(user, scope))

    @get("/api/user")
    async def github_user(request: AnyRequest) -> Response[Any]:
        if provider.fail_status:
            return Response("down", status_code=provider.fail_status, media_type="text/plain")
        found = _bearer(provider, request)
        if found is None:
            return _unauthorized()
        user, _ = found
        return Response(
            {
                "id": user.github_id,
                "login": user.login,
                "name": user.name,
                "email": None,
                "avatar_url": user.avatar,
            }
        )

    @get("/api/user/emails")
    async def github_emails(request: AnyRequest) -> Response[Any]:
        found = _bearer(provider, request)
        if found is None:
            return _unauthorized()
        user, scope = found
        if "user:email" not in scope.split():
            return Response({"message": "Not Found"}, status_code=404)
        return Response(user.github_emails())

    return Litestar(
        route_handlers=[authorize, token, discovery, jwks, userinfo, github_user, github_emails], debug=False
    )
