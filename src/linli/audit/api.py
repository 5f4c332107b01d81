from datetime import date, datetime
from typing import Any

from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from linli.audit.forms import MAX_DAY, MIN_DAY
from linli.audit.models import AuditEvent
from linli.audit.selectors import can_read_audit, events_filtered, events_visible_to
from linli.core.api_schemas import BoundedPageNumberPagination

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
    action: str = Field("", max_length=80)
    object_type: str = Field("", max_length=80)
    actor: str = Field("", max_length=150)
    since: date | None = Field(None, ge=MIN_DAY, le=MAX_DAY)
    until: date | None = Field(None, ge=MIN_DAY, le=MAX_DAY)


@router.get("/events", response=list[EventOut], summary="Audit events visible to the caller, newest first")
@paginate(BoundedPageNumberPagination, page_size=50)
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
