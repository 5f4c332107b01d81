"""Navigation by role: each app adds its entries to ``NAV``; a person sees the entries
of the roles they hold. Elder mode (长辈版) keeps only the ``elder`` entries in the
top bar; the home page still lists every entry as a large tile."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from linli.accounts.access import roles_of
from linli.accounts.middleware import second_factor_pending
from linli.accounts.models import Role
from linli.audit.selectors import AUDIT_READERS
from linli.deliberation.models import DELIBERATION_VIEW_ROLES
from linli.people.models import IMPORT_ROLES, REGISTRY_ROLES
from linli.places.access import PLACE_VIEW_ROLES
from linli.requests.models import RATES_ROLES, REQUEST_VIEW_ROLES
from linli.surveys.models import SURVEY_VIEW_ROLES


@dataclass(frozen=True)
class NavItem:
    label: str | Promise
    url_name: str
    roles: frozenset[str]  # empty: everyone signed in
    elder: bool = True  # kept in the simpler elder-mode top bar
    public: bool = False  # also shown to people who are not signed in
    superuser: bool = False  # also shown to superusers, whatever roles they hold


@dataclass(frozen=True)
class NavLink:
    label: str | Promise
    url: str
    active: bool
    elder: bool
    home: bool  # the home page itself (not repeated as a tile on it)


# Each entry uses the role set its app's access rules use, so a link never leads to a 403.
NAV: list[NavItem] = [
    NavItem(_("首页"), "web:home", frozenset(), public=True),
    NavItem(_("反映问题"), "requests:new", frozenset({Role.RESIDENT})),
    NavItem(_("我的诉求"), "requests:mine", frozenset({Role.RESIDENT})),
    NavItem(_("我的信息"), "people:my_data", frozenset({Role.RESIDENT})),
    NavItem(_("我的问卷"), "surveys:mine", frozenset({Role.RESIDENT}), elder=False),
    NavItem(_("居民提议"), "deliberation:proposals", frozenset({Role.RESIDENT}), elder=False),
    NavItem(_("诉求工作台"), "requests:queue", REQUEST_VIEW_ROLES | {Role.PARTNER}, elder=False),
    NavItem(_("三率考核"), "insights:rates", RATES_ROLES, elder=False),
    NavItem(_("社区排名"), "insights:ranking", frozenset({Role.STREET_SUPERVISOR}), elder=False),
    NavItem(_("调查问卷"), "surveys:list", SURVEY_VIEW_ROLES, elder=False),
    NavItem(_("满意度分析"), "insights:satisfaction", SURVEY_VIEW_ROLES, elder=False),
    NavItem(_("议事协商"), "deliberation:desk", DELIBERATION_VIEW_ROLES, elder=False),
    NavItem(_("议事公开"), "deliberation:public", frozenset(), public=True, elder=False),
    NavItem(_("投票表决"), "votes:mine", frozenset({Role.RESIDENT})),
    NavItem(_("投票表决"), "votes:list", DELIBERATION_VIEW_ROLES, elder=False),
    NavItem(_("公开结果"), "votes:public_list", frozenset(), public=True, elder=False),
    NavItem(_("居民档案"), "people:resident_list", REGISTRY_ROLES, elder=False),
    NavItem(_("更正申请"), "people:corrections", REGISTRY_ROLES, elder=False),
    NavItem(_("数据导入"), "people:import", IMPORT_ROLES, elder=False),
    NavItem(_("地点"), "places:tree", PLACE_VIEW_ROLES, elder=False),
    NavItem(_("审计日志"), "audit:log", AUDIT_READERS, elder=False, superuser=True),
    # The header's message link (with its unread count) serves the elder-mode top bar.
    NavItem(_("消息"), "notifications:inbox", frozenset(), elder=False),
    NavItem(_("设置"), "web:settings", frozenset(), public=True),
]


def _is_active(path: str, url: str) -> bool:
    return path == url or (url != "/" and path.startswith(url))


def nav_for(request: HttpRequest) -> list[NavLink]:
    """The entries ``request``'s user may reach, in ``NAV`` order."""
    user = getattr(request, "user", None)
    # Until the second factor is given a staff session can reach nothing, so offer nothing.
    signed_in = bool(user is not None and user.is_authenticated and not second_factor_pending(request))
    roles = roles_of(user) if signed_in else set()
    home = reverse("web:home")
    links = []
    for item in NAV:
        if not signed_in and not item.public:
            continue
        if item.roles and not (item.roles & roles) and not (item.superuser and user is not None and user.is_superuser):
            continue
        url = reverse(item.url_name)
        links.append(NavLink(item.label, url, _is_active(request.path, url), item.elder, url == home))
    if signed_in and user is not None and user.is_superuser:
        url = reverse("admin:index")
        links.append(NavLink(_("管理后台"), url, _is_active(request.path, url), False, False))
    return links
