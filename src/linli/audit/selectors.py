from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from linli.accounts.access import scope_paths
from linli.accounts.models import Role
from linli.audit.models import AuditEvent
from linli.places.models import Place

# Who reads the audit log of the communities they cover (read-only for everyone).
AUDIT_READERS = frozenset({Role.AUDITOR, Role.COMMITTEE_LEAD, Role.STREET_SUPERVISOR})


def can_read_audit(user: Any) -> bool:
    return bool(getattr(user, "is_superuser", False) or scope_paths(user, roles=AUDIT_READERS))


def events_visible_to(user: Any) -> QuerySet[AuditEvent]:
    """Superusers see every event; audit readers see the events of the communities
    below their grants (system-wide events carry no community and stay with superusers)."""
    if getattr(user, "is_superuser", False):
        return AuditEvent.objects.all()
    paths = scope_paths(user, roles=AUDIT_READERS)
    if not paths:
        return AuditEvent.objects.none()
    # A grant below a community (a grid) still covers that community's events only
    # where they concern it, so readers below community level see nothing here.
    communities = Place.objects.communities().below_any(paths).values("pk")
    return AuditEvent.objects.filter(community_id__in=communities)


def events_filtered(
    qs: QuerySet[AuditEvent], *, action: str = "", object_type: str = "", actor: str = "",
    since: date | None = None, until: date | None = None,
) -> QuerySet[AuditEvent]:
    if action:
        qs = qs.filter(action__startswith=action)
    if object_type:
        qs = qs.filter(object_type=object_type)
    if actor:
        qs = qs.filter(actor_label=actor)
    tz = timezone.get_current_timezone()
    if since:
        qs = qs.filter(at__gte=datetime.combine(since, time.min, tzinfo=tz))
    if until:
        qs = qs.filter(at__lt=datetime.combine(until, time.max, tzinfo=tz))
    return qs.order_by("-seq")
