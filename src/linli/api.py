"""The JSON API at /api/v1/: session or API-key auth, one error shape, OpenAPI."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import APIKeyHeader, HttpBearer
from ninja.security.session import SessionAuth

from linli.accounts.middleware import second_factor_pending
from linli.accounts.services import apikey_authenticate
from linli.core.api_schemas import Error

logger = logging.getLogger("linli.api")


class LinliSessionAuth(SessionAuth):
    """A signed-in browser session; staff must have passed two-factor sign-in."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is None or second_factor_pending(request):
            return None
        return user


class ApiKeyAuth(APIKeyHeader):
    param_name = "X-API-Key"

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        api_key = apikey_authenticate(key or "")
        if api_key is not None:
            request.api_key = api_key  # type: ignore[attr-defined]
        return api_key


class BearerAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        api_key = apikey_authenticate(token)
        if api_key is not None:
            request.api_key = api_key  # type: ignore[attr-defined]
        return api_key


api = NinjaAPI(
    title="linli API",
    version="1",
    description="The JSON API of linli (邻里). Authenticate with a browser session or an API key "
    "(header `X-API-Key: lk_…` or `Authorization: Bearer lk_…`). Errors: "
    '`{"error": {"code", "message", "fields"}}`.',
    # Machine clients first: session auth checks CSRF before it authenticates, and its
    # refusal would otherwise end authentication for a cookie-less API-key client.
    auth=[ApiKeyAuth(), BearerAuth(), LinliSessionAuth()],
    urls_namespace="api",
)


def error_response(request: HttpRequest, status: int, code: str, message: str, fields: dict[str, list[str]] | None = None) -> HttpResponse:
    return api.create_response(request, {"error": {"code": code, "message": message, "fields": fields or {}}}, status=status)


@api.exception_handler(NinjaValidationError)
def on_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for err in exc.errors:
        loc = [str(part) for part in err.get("loc", []) if part not in ("body", "query", "path", "form", "payload")]
        fields.setdefault(".".join(loc) or "__all__", []).append(str(err.get("msg", "")))
    return error_response(request, 422, "invalid", _("输入有误，请检查标出的字段。"), fields)


@api.exception_handler(DjangoValidationError)
def on_django_validation_error(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    fields = {k: [str(m) for m in v] for k, v in exc.message_dict.items()} if hasattr(exc, "error_dict") else {"__all__": [str(m) for m in exc.messages]}
    return error_response(request, 422, "invalid", _("输入有误，请检查标出的字段。"), fields)


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(request, 401, "unauthenticated", _("请先登录，或提供有效的 API 密钥。"))


@api.exception_handler(PermissionDenied)
def on_forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return error_response(request, 403, "forbidden", _("您对此只有查看权限。"))


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(request, 404, "not_found", _("找不到该对象。"))


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 403 and "csrf" in str(exc).lower():
        return error_response(request, 403, "csrf_failed",
                              _("会话请求缺少 CSRF 令牌：请在 X-CSRFToken 请求头中带上它，或改用 API 密钥。"))
    if exc.status_code == 400:
        return error_response(request, 400, "bad_request", _("请求内容无法解析，请发送有效的 JSON 或表单数据。"))
    return error_response(request, exc.status_code, "error", str(exc))


@api.exception_handler(Exception)
def on_unexpected_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    """Never a traceback and never HTML: log it and answer in the error shape."""
    logger.exception("API error on %s %s", request.method, request.path)
    return error_response(request, 500, "server_error", _("服务器内部错误，已记录，请稍后再试。"))


@csrf_exempt
def api_not_found(request: HttpRequest) -> HttpResponse:
    """Unknown paths under /api/ answer in the API's error shape, not an HTML page."""
    return error_response(request, 404, "not_found", _("找不到该对象。"))


class Me(Schema):
    kind: str
    username: str | None = None
    name: str
    roles: list[dict[str, Any]]


@api.get("/me", response={200: Me, 401: Error}, tags=["accounts"], summary="Who is calling")
def me(request: HttpRequest) -> dict[str, Any]:
    from linli.accounts.access import grants_for

    principal = request.auth  # type: ignore[attr-defined]
    grants = [{"role": g.role, "place_id": g.place_id} for g in grants_for(principal)]
    if getattr(request, "api_key", None) is not None:
        return {"kind": "api_key", "name": principal.name, "roles": grants}
    return {"kind": "user", "username": principal.username, "name": str(principal), "roles": grants}


def register_routers() -> None:
    """Each domain app contributes a router; imported here so URL loading stays lazy."""
    from linli.audit.api import router as audit_router
    from linli.insights.api import router as insights_router
    from linli.people.api import router as people_router
    from linli.places.api import router as places_router
    from linli.requests.api import router as requests_router

    api.add_router("/places", places_router)
    api.add_router("/people", people_router)
    api.add_router("/audit", audit_router)
    api.add_router("/requests", requests_router)
    api.add_router("/insights", insights_router)


register_routers()
