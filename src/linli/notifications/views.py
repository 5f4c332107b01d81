"""The in-app inbox: everyone signed in reads their own notices, newest first, and marks
one or all of them read. Nobody ever sees another person's notices (404)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import BadRequest
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from linli.accounts.models import User
from linli.notifications import selectors, services
from linli.notifications.models import Notification

PAGE_SIZE = 30


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _safe_url(request: HttpRequest, url: str) -> str:
    """A notice's link, if it stays on this site (the services store paths)."""
    if url.startswith("/") and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
        return url
    return ""


def _decorate(request: HttpRequest, notification: Notification) -> Notification:
    notification.safe_url = _safe_url(request, notification.url)  # type: ignore[attr-defined]
    return notification


@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    unread_only = request.GET.get("show") == "unread"
    page = Paginator(selectors.inbox(user, unread_only=unread_only), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "items": [_decorate(request, n) for n in page.object_list],
        "unread": selectors.unread_count(user),
        "unread_only": unread_only,
    }
    return render(request, "notifications/inbox.html", context)


@require_POST
def mark_read(request: HttpRequest) -> HttpResponse:
    """Mark one notice read. ``go`` then opens what it is about; ``page`` returns to
    that page of the inbox."""
    user: User = request.user  # type: ignore[assignment]
    raw = request.POST.get("id", "")
    if not raw.isdigit() or len(raw) > 18:
        raise BadRequest(_("缺少要标记的消息。"))
    notification = Notification.objects.filter(pk=int(raw), user=user).first()
    if notification is None:
        raise Http404
    services.notification_mark_read(user=user, ids=[notification.pk])
    notification.refresh_from_db(fields=["read_at"])
    target = _safe_url(request, notification.url) if request.POST.get("go") else ""
    if _is_htmx(request):
        if target:
            response = HttpResponse(status=204)
            response["HX-Redirect"] = target
            return response
        return render(request, "notifications/inbox.html#item", {"n": _decorate(request, notification)})
    if target:
        return HttpResponseRedirect(target)
    page = request.POST.get("page", "")
    url = reverse("notifications:inbox")
    return redirect(f"{url}?page={page}" if page.isdigit() and len(page) < 9 else url)


@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    marked = services.notification_mark_read(user=user)
    if marked:
        messages.success(request, _("已将 %(n)d 条消息标为已读。") % {"n": marked})
    return redirect("notifications:inbox")
