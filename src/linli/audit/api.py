from datetime import date, datetime
from typing import Any

from django.http import Http404, HttpRequest
from ninja import Query, Router, Schema
from ninja.pagination import PageNumberPagination, paginate

from linli.audit.models import AuditEvent
from linli.audit.selectors import can_read_audit, events_filtered, events_visible_to

router = Router(tags=["audit"])


class EventOut(Schema):
    seq: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    before: Any = None
    after: Any = None
    prev_hash: str
    hash: str

    @staticmethod
    def resolve_actor(obj: AuditEvent) -> str:
        return obj.actor_label


class EventFilter(Schema):
    action: str = ""
    object_type: str = ""
    actor: str = ""
    since: date | None = None
    until: date | None = None


@router.get("/events", response=list[EventOut], summary="Audit events visible to the caller, newest first")
@paginate(PageNumberPagination, page_size=50)
def event_list(request: HttpRequest, filters: Query[EventFilter]) -> Any:
    principal = request.auth  # type: ignore[attr-defined]
    if not can_read_audit(principal):
        raise Http404
    return events_filtered(events_visible_to(principal), **filters.dict())


@router.get("/events/{seq}", response=EventOut, summary="One audit event")
def event_detail(request: HttpRequest, seq: int) -> Any:
    principal = request.auth  # type: ignore[attr-defined]
    event = events_visible_to(principal).filter(seq=seq).first() if can_read_audit(principal) else None
    if event is None:
        raise Http404
    return event
