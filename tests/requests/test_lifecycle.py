"""The lifecycle services: every transition writes an event, keeps the rollups right and
refuses moves its state does not allow."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum

from linli.accounts.models import Organisation
from linli.notifications.models import Notification
from linli.requests import services as svc
from linli.requests.calendar import TIME_ZONE
from linli.requests.intake import request_follow, similar_open
from linli.requests.models import (
    CloseReason,
    EventKind,
    Follower,
    Rating,
    Request,
    RequestRollup,
    Status,
)
from tests.conftest import Personas, Tree
from tests.requests.conftest import Submit


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=TIME_ZONE)  # type: ignore[misc]


def totals() -> dict[str, int]:
    fields = ["submitted", "valid", "responded_in_time", "resolved_in_time", "solved", "rated", "satisfied",
              "dissatisfied", "not_dispatched", "reopened", "breached"]
    row = RequestRollup.objects.aggregate(**{f: Sum(f) for f in fields})
    return {k: v or 0 for k, v in row.items()}


def test_full_lifecycle_web_request(submit: Submit, personas: Personas) -> None:
    req = submit(at=at(2026, 11, 23, 9, 0))  # Monday
    assert req.status == Status.SUBMITTED and req.accept_due_at == at(2026, 11, 23, 11, 0)
    assert req.reporter == personas.resident and req.grid is not None
    req = svc.request_accept(request=req, by=personas.staff, at=at(2026, 11, 23, 10, 0))
    assert req.resolve_due_at == at(2026, 12, 2, 10, 0)  # 7 working days
    assert req.contact_due_at == at(2026, 11, 24, 10, 0)
    req = svc.request_assign(request=req, by=personas.lead, handler=personas.grid_worker, at=at(2026, 11, 23, 10, 5))
    req = svc.request_start(request=req, by=personas.grid_worker, at=at(2026, 11, 23, 11, 0))
    svc.request_reply(request=req, by=personas.grid_worker, body="已联系电工，明天上午更换。", at=at(2026, 11, 23, 11, 5))
    svc.request_reply(request=req, by=personas.grid_worker, body="电工电话 138…", public=False,
                      at=at(2026, 11, 23, 11, 6))
    req = svc.request_resolve(request=req, by=personas.grid_worker, resolution="已更换灯泡。",
                              at=at(2026, 11, 24, 10, 0))
    req = svc.request_rate(request=req, by=personas.resident, rating=Rating.VERY_SATISFIED, solved=True,
                           at=at(2026, 11, 24, 18, 0))
    assert req.status == Status.CLOSED and req.close_reason == CloseReason.RESOLVED
    kinds = list(req.events.values_list("kind", flat=True))
    assert kinds == [EventKind.SUBMITTED, EventKind.ACCEPTED, EventKind.ASSIGNED, EventKind.STARTED,
                     EventKind.REPLIED, EventKind.NOTED, EventKind.RESOLVED, EventKind.RATED, EventKind.CLOSED]
    assert not req.events.get(kind=EventKind.NOTED).public
    assert totals() == {"submitted": 1, "valid": 1, "responded_in_time": 1, "resolved_in_time": 1, "solved": 1,
                             "rated": 1, "satisfied": 0, "dissatisfied": 0, "not_dispatched": 0, "reopened": 0,
                             "breached": 0}
    assert Notification.objects.filter(user=personas.resident).count() >= 4


def test_not_satisfied_flags_review_and_reopen_takes_the_counts_back(submit: Submit, personas: Personas) -> None:
    req = submit()
    req = svc.request_accept(request=req, by=personas.staff)
    req = svc.request_resolve(request=req, by=personas.staff, resolution="已处理")
    req = svc.request_rate(request=req, by=personas.resident, rating=Rating.DISSATISFIED, solved=False)
    assert req.needs_review
    assert totals()["dissatisfied"] == 1 and totals()["valid"] == 1
    req = svc.request_reopen(request=req, by=personas.resident, reason="灯还是不亮")
    assert req.status == Status.ACCEPTED and req.reopen_count == 1  # nobody held it: back to the queue
    assert totals()["valid"] == 0 and totals()["rated"] == 0 and totals()["reopened"] == 1
    assert RequestRollup.objects.aggregate(n=Sum("dissatisfied"))["n"] == 0


def test_transition_from_a_stale_version_is_refused(submit: Submit, personas: Personas) -> None:
    req = submit()
    seen = req.version
    svc.request_accept(request=req, by=personas.staff, expected_version=seen)
    with pytest.raises(svc.ConflictError):
        svc.request_accept(request=req, by=personas.lead, expected_version=seen)
    with pytest.raises(ValidationError):
        svc.request_accept(request=req, by=personas.lead)
    assert Request.objects.get(pk=req.pk).events.filter(kind=EventKind.ACCEPTED).count() == 1


def test_wait_pauses_the_clock(submit: Submit, personas: Personas) -> None:
    req = submit(at=at(2026, 11, 23, 9, 0))
    req = svc.request_accept(request=req, by=personas.staff, at=at(2026, 11, 23, 9, 0))
    due = req.resolve_due_at
    req = svc.request_wait(request=req, by=personas.staff, question="请问是哪一层？", at=at(2026, 11, 23, 10, 0))
    svc.request_comment(request=req, by=personas.resident, body="5 层", at=at(2026, 11, 24, 10, 0))
    req.refresh_from_db()
    assert req.status == Status.ACCEPTED and req.paused_at is None
    # Accepted at the opening on Monday: due at the close of the 7th working day, Tue 1 Dec.
    # The pause took one working day (Mon 10:00 → Tue 10:00), so it moves to Wed 2 Dec.
    assert due == at(2026, 12, 1, 17, 30) and req.resolve_due_at == at(2026, 12, 2, 17, 30)


def test_close_without_dispatch_needs_an_answer(submit: Submit, personas: Personas) -> None:
    req = submit()
    with pytest.raises(ValidationError):
        svc.request_close(request=req, by=personas.staff, reason=CloseReason.EMERGENCY, answer=" ")
    with pytest.raises(ValidationError):
        svc.request_close(request=req, by=personas.staff, reason="nonsense", answer="x")
    req = svc.request_close(request=req, by=personas.staff, reason=CloseReason.EMERGENCY, answer="请拨打 119。")
    assert req.status == Status.CLOSED and totals()["not_dispatched"] == 1 and totals()["valid"] == 0


def test_merge_keeps_every_reporter_informed(submit: Submit, personas: Personas, tree: Tree) -> None:
    main = submit()
    dup = submit(by=personas.other_resident, place=tree.other_household)
    assert [r.pk for r in similar_open(place=tree.other_household, category=main.category, exclude=dup.pk)] == [main.pk]
    svc.request_merge(request=dup, into=main, by=personas.staff)
    dup.refresh_from_db()
    assert dup.status == Status.CLOSED and dup.merged_into_id == main.pk
    assert set(Follower.objects.filter(request=main).values_list("user_id", flat=True)) == {
        personas.resident.pk, personas.other_resident.pk}
    svc.request_accept(request=main, by=personas.staff)
    assert Notification.objects.filter(user=personas.other_resident, title__contains=f"#{main.pk}").exists()


def test_dispatch_to_partner_and_return_with_reason(submit: Submit, personas: Personas,
                                                    property_manager: Organisation) -> None:
    req = svc.request_accept(request=submit(), by=personas.staff)
    req = svc.request_dispatch(request=req, by=personas.staff, organisation=property_manager)
    assert req.status == Status.DISPATCHED
    assert Notification.objects.filter(user=personas.partner).exists()
    with pytest.raises(ValidationError):
        svc.request_return(request=req, by=personas.partner, reason="")
    req = svc.request_return(request=req, by=personas.partner, reason="不属于物业服务范围")
    assert req.status == Status.ACCEPTED and req.organisation is None
    svc.request_contest(request=req, by=personas.staff, reason="合同约定属物业维修")
    req.refresh_from_db()
    assert req.needs_review


def test_me_too_follows_an_existing_request(submit: Submit, personas: Personas) -> None:
    req = submit()
    request_follow(request=req, user=personas.other_resident)
    request_follow(request=req, user=personas.other_resident)
    assert Follower.objects.filter(request=req).count() == 2


def test_moving_a_building_keeps_its_requests_in_scope(submit: Submit, personas: Personas, tree: Tree) -> None:
    from linli.places.services import place_move
    from linli.requests.access import visible_requests

    req = submit()
    svc.request_close(request=svc.request_accept(request=req, by=personas.staff), by=personas.staff,
                      reason=CloseReason.OUTSIDE_DUTY, answer="请联系供电公司。")
    place_move(place=tree.building, parent=tree.other_grid)
    req.refresh_from_db()
    tree.building.refresh_from_db()
    tree.household.refresh_from_db()
    assert req.place_path == tree.household.path and req.place_path.startswith(tree.other_grid.path)
    assert visible_requests(personas.grid_worker).filter(pk=req.pk).count() == 0  # grid 1's worker
    assert visible_requests(personas.staff).filter(pk=req.pk).count() == 1
