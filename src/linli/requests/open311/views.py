"""Open311 GeoReport v2 at /open311/v2/ (with FixMyStreet's service request updates).

Machine clients authenticate each call with ``api_key`` (in the body or the query
string), never with a session, so the views are exempt from CSRF and from the sign-in
redirect. Every answer, errors included, is in the spec's shape and in the format the
address ends with; bad input is a 400, a wrong key a 403, an unknown thing a 404.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import BadRequest, SuspiciousOperation
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.http.multipartparser import MultiPartParserError
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from linli.requests.models import Attachment, Request, Submission
from linli.requests.open311 import callers, catalogue, listing, params, render
from linli.requests.open311.params import Open311Error
from linli.requests.open311.submit import submit

logger = logging.getLogger("linli.open311")

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
READ = ("GET", "HEAD")

View = Callable[..., HttpResponseBase]


def jurisdiction(request: HttpRequest) -> str:
    """The one jurisdiction this endpoint serves: ``OPEN311_JURISDICTION_ID`` if set,
    else the site's host name without "www." (as the spec suggests)."""
    configured = str(getattr(settings, "OPEN311_JURISDICTION_ID", "") or "")
    if configured:
        return configured
    host = urlsplit(settings.SITE_URL).hostname if settings.SITE_URL else request.get_host().split(":")[0]
    host = (host or "").lower()
    return host.removeprefix("www.")


def _check(request: HttpRequest, kwargs: dict[str, Any], methods: tuple[str, ...]) -> None:
    if request.method not in methods:
        raise Open311Error(400, _("此地址不支持 %(method)s 请求。") % {"method": request.method}, code=405)
    if (params.has_nul(request.GET) or any("\x00" in str(value) for value in kwargs.values())
            or (request.method == "POST" and params.has_nul(request.POST))):
        raise params.bad(_("输入中含有不允许的控制字符。"))
    wanted = params.single(request.POST if request.method == "POST" else request.GET, "jurisdiction_id") or \
        params.single(request.GET, "jurisdiction_id")
    if wanted and wanted != jurisdiction(request):
        raise Open311Error(404, _("找不到 jurisdiction_id：%(id)s。") % {"id": wanted[:100]})


def endpoint(*, methods: tuple[str, ...] = READ) -> Callable[[View], View]:
    """Method, NUL and jurisdiction checks, and every failure in the error shape."""

    def decorate(view: View) -> View:
        @csrf_exempt
        @login_not_required
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            # Addresses without a format (a photo, an unknown path) answer errors in XML,
            # the format GeoReport requires, unless they asked for JSON.
            fmt = kwargs.pop("fmt", None) or ("json" if request.path.endswith(".json") else "xml")
            try:
                _check(request, kwargs, methods)
                return view(request, fmt, *args, **kwargs)
            except Open311Error as exc:
                return render.errors(fmt, exc.status, exc.items)
            except (BadRequest, SuspiciousOperation, MultiPartParserError):
                return render.errors(fmt, 400, [(400, _("请求格式有误。"))])
            except Exception:
                # GeoReport's "general service error" is a 400; the cause goes to the log.
                logger.exception("open311: %s %s failed", request.method, request.path)
                return render.errors(fmt, 400, [(400, _("服务暂时无法处理此请求，请稍后再试。"))])

        return wrapped

    return decorate


def _caller(request: HttpRequest) -> callers.Caller:
    raw = params.single(request.POST, "api_key") if request.method == "POST" else ""
    return callers.caller_for(raw or params.single(request.GET, "api_key"))


def _absolute(request: HttpRequest, path: str) -> str:
    """The public address of ``path``: under ``LINLI_SITE_URL`` when set (behind a proxy the
    request's own host may be an internal one)."""
    return settings.SITE_URL + path if settings.SITE_URL else request.build_absolute_uri(path)


def _listing(request: HttpRequest, caller: callers.Caller) -> listing.Listing:
    media = _absolute(request, reverse("open311:media", kwargs={"token": "TOKEN"}))
    return listing.Listing(caller=caller, extensions=params.flag(request.GET, "extensions"), media_url=media)


@endpoint()
def discovery(request: HttpRequest, fmt: str) -> HttpResponse:
    _caller(request)
    base = _absolute(request, reverse("open311:discovery", kwargs={"fmt": "json"}))
    changeset = timezone.now().date().isoformat()  # categories carry no change time: clients refresh daily
    document = {
        "changeset": changeset,
        "contact": _("请联系所在社区居委会或街道办事处。"),
        "key_service": _("API 密钥由社区或街道的管理员在 linli 中创建，每个密钥只覆盖其所属地点。"),
        "endpoints": [{
            "specification": SPECIFICATION,
            "url": base.rsplit("/", 1)[0],
            "changeset": changeset,
            "type": "production",
            "formats": ["text/xml", "application/json"],
        }],
    }
    return render.respond(fmt, "discovery", document)


@endpoint()
def services(request: HttpRequest, fmt: str) -> HttpResponse:
    _caller(request)  # no key needed, but a wrong one is still a 403
    return render.respond(fmt, "services", catalogue.services())


@endpoint()
def service_definition(request: HttpRequest, fmt: str, service_code: str) -> HttpResponse:
    _caller(request)
    return render.respond(fmt, "service_definition", catalogue.service_definition(service_code))


@endpoint(methods=("GET", "HEAD", "POST"))
def requests(request: HttpRequest, fmt: str) -> HttpResponse:
    caller = _caller(request)
    if request.method == "POST":
        return _create(request, fmt, caller)
    query = request.GET
    wanted = listing.RequestFilter(
        ids=params.request_ids(query),
        category_ids=catalogue.category_ids(params.many(query, "service_code")),
        statuses=listing.statuses_for(params.statuses(query)),
        window=params.window(query),
    )
    page = params.page(query)
    rows = listing.request_list(_listing(request, caller), wanted, page)
    return render.respond(fmt, "service_requests", rows, private=caller.key is not None)


def _create(request: HttpRequest, fmt: str, caller: callers.Caller) -> HttpResponse:
    created = submit(request, caller)
    if isinstance(created, Submission):
        # Queued: the worker files it within a second or so; the token gives its number then.
        queued = {
            "token": callers.submission_token(created.pk),
            "service_notice": _("已收到，正在登记；请稍后用 token 查询诉求编号。"),
            "account_id": params.single(request.POST, "account_id")[:100] or None,
        }
        return render.respond(fmt, "service_requests", [queued], private=True)
    notice = _("已收到，将于 %(due)s 前受理。") % {
        "due": timezone.localtime(created.accept_due_at).strftime("%Y-%m-%d %H:%M")
    } if created.accept_due_at else None
    answer = {
        "service_request_id": str(created.pk),
        "token": callers.request_token(created.pk),
        "service_notice": notice,
        "account_id": created.account_id or None,
    }
    return render.respond(fmt, "service_requests", [answer], private=True)


@endpoint()
def request_detail(request: HttpRequest, fmt: str, service_request_id: str) -> HttpResponse:
    caller = _caller(request)
    pk = params.record_id(service_request_id)
    if pk is None:
        raise Open311Error(404, _("找不到该诉求（service_request_id：%(id)s）。") % {"id": service_request_id[:30]})
    row = listing.request_one(_listing(request, caller), pk)
    return render.respond(fmt, "service_requests", [row], private=caller.key is not None)


@endpoint()
def token_detail(request: HttpRequest, fmt: str, token: str) -> HttpResponse:
    """The request number behind a token; a queued submission answers with the token
    alone until the worker has filed it, and with the reason if it could not."""
    _caller(request)
    target = callers.token_target(token)
    pk: int | None = None
    if target is not None and target[1] <= params.MAX_DB_ID:
        kind, number = target
        if kind == "request":
            pk = number if Request.objects.filter(pk=number).exists() else None
        else:
            row = Submission.objects.filter(pk=number).values("state", "request_id", "error").first()
            if row is not None and row["state"] == Submission.State.QUEUED:
                return render.respond(fmt, "service_requests", [{"token": token}])
            if row is not None and row["state"] == Submission.State.REFUSED:
                raise params.bad(_("此 token 的诉求未能登记：%(reason)s") % {"reason": row["error"]})
            pk = row["request_id"] if row is not None else None
    if pk is None:
        raise Open311Error(404, _("找不到该 token。"))
    return render.respond(fmt, "service_requests", [{"service_request_id": str(pk), "token": token}])


@endpoint()
def updates(request: HttpRequest, fmt: str) -> HttpResponse:
    caller = _caller(request)
    rows = listing.update_list(_listing(request, caller), params.window(request.GET), params.page(request.GET))
    return render.respond(fmt, "service_request_updates", rows, private=caller.key is not None)


@endpoint()
def media(request: HttpRequest, fmt: str, token: str) -> HttpResponseBase:
    """A photo of a request, at the signed, expiring address given to keyed clients."""
    pk = callers.media_id(token)
    attachment = Attachment.objects.filter(pk=pk, public=True).first() if pk and pk <= params.MAX_DB_ID else None
    if attachment is None:
        raise Open311Error(404, _("找不到该照片，或链接已过期。"))
    response = FileResponse(attachment.file.open("rb"), content_type=attachment.content_type)
    response["Cache-Control"] = "private, max-age=3600"
    return response


@endpoint(methods=("GET", "HEAD", "POST"))
def fallback(request: HttpRequest, fmt: str, rest: str) -> HttpResponse:
    raise Open311Error(404, _("没有这个 Open311 地址：请从 /open311/v2/discovery.xml 开始。"))
