"""Navigation by role: each app adds its entries here, shown to whoever holds a role."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from linli.accounts.access import roles_of
from linli.accounts.models import Role


@dataclass(frozen=True)
class NavItem:
    label: str | Promise
    url_name: str
    roles: frozenset[str]  # empty: every signed-in user
    elder: bool = True  # shown in the simpler elder-mode navigation


STAFF = frozenset({Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.COMMITTEE_LEAD, Role.STREET_SUPERVISOR})
NAV: list[NavItem] = [
    NavItem(_("首页"), "web:home", frozenset()),
    NavItem(_("我的信息"), "people:my_data", frozenset({Role.RESIDENT})),
    NavItem(_("居民档案"), "people:resident_list", STAFF | {Role.AUDITOR}, elder=False),
    NavItem(_("数据导入"), "people:import", frozenset({Role.COMMUNITY_STAFF, Role.COMMITTEE_LEAD}), elder=False),
    NavItem(_("地点"), "places:tree", STAFF | {Role.AUDITOR}, elder=False),
    NavItem(_("审计日志"), "audit:log", frozenset({Role.AUDITOR, Role.COMMITTEE_LEAD, Role.STREET_SUPERVISOR}), elder=False),
]


def nav_for(request: HttpRequest, *, elder: bool) -> list[dict[str, object]]:
    user = request.user
    if not user.is_authenticated:
        return [{"label": _("首页"), "url": reverse("web:home"), "active": request.path == "/"}]
    roles = roles_of(user)
    items = []
    for item in NAV:
        if item.roles and not (item.roles & roles):
            continue
        if elder and not item.elder:
            continue
        url = reverse(item.url_name)
        items.append({"label": item.label, "url": url, "active": request.path == url or (url != "/" and request.path.startswith(url))})
    if user.is_superuser:
        items.append({"label": _("管理后台"), "url": reverse("admin:index"), "active": request.path.startswith("/admin/")})
    return items
