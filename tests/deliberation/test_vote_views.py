"""The staff pages of votes over HTTP: who reaches them (404 outside scope, 403 where
one may only look), drafting with errors in words, turnout only (never results) until
close, the actions, the roll and the history of changed named ballots; lists cost a
constant number of queries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from linli.deliberation import services
from linli.deliberation.models import Vote, VoterRollEntry, VoteStatus
from linli.notifications.models import Notification
from tests.conftest import Personas, Tree
from tests.deliberation.conftest import Neighbourhood, import_roll
from tests.deliberation.test_vote_views_support import (
    as_user,
    close,
    new_vote,
    queries,
    text,
    window,
)


def test_list_who_reaches_it_and_what_it_shows(hood: Neighbourhood, tree: Tree, personas: Personas) -> None:
    vote = new_vote(tree, personas)
    url = reverse("votes:list")
    assert Client().get(url).status_code == 302  # sign in first
    for user, status in [(personas.staff, 200), (personas.lead, 200), (personas.auditor, 200),
                         (personas.grid_worker, 200), (personas.street_supervisor, 200),
                         (personas.outside_staff, 200), (personas.resident, 403), (personas.partner, 403),
                         (personas.outsider, 403)]:
        assert as_user(user).get(url).status_code == status, user
    body = text(as_user(personas.staff).get(url))
    assert vote.title in body and reverse("votes:new") in body
    assert vote.title not in text(as_user(personas.outside_staff).get(url))
    assert reverse("votes:new") not in text(as_user(personas.auditor).get(url))
    # Filtered by status.
    assert vote.title not in text(as_user(personas.staff).get(url, {"status": "draft"}))


def test_list_costs_the_same_queries_for_more_votes(hood: Neighbourhood, tree: Tree, personas: Personas) -> None:
    new_vote(tree, personas)
    client = as_user(personas.staff)
    url = reverse("votes:list")
    client.get(url)
    one = queries(client, url)
    for i in range(5):
        new_vote(tree, personas, title=f"第{i}项表决", open_it=i % 2 == 0)
    assert queries(client, url) == one


def _post_new(client: Client, tree: Tree, **data: Any) -> Any:
    opens, closes = window()
    values = {"title": "是否更换小区大门", "place": tree.community.pk, "question_kind": "yes_no",
              "eligibility": "adults", "rule": "simple_majority", "ballot": "secret",
              "opens_at": timezone.localtime(opens).strftime("%Y-%m-%dT%H:%M"),
              "closes_at": timezone.localtime(closes).strftime("%Y-%m-%dT%H:%M")}
    values.update(data)
    return client.post(reverse("votes:new"), values)


def test_drafting_a_vote_and_errors_in_words(hood: Neighbourhood, tree: Tree, personas: Personas) -> None:
    client = as_user(personas.staff)
    assert client.get(reverse("votes:new")).status_code == 200
    response = _post_new(client, tree)
    vote = Vote.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("votes:detail", args=[vote.pk])
    assert vote.status == VoteStatus.DRAFT and vote.secret and vote.created_by == personas.staff

    # Art. 278 on residents, a secret owners' vote, too few options: each refused in words,
    # with what was typed kept.
    response = _post_new(client, tree, title="换物业", rule="civil_code_ordinary")
    assert response.status_code == 400 and "第二百七十八条" in text(response) and "换物业" in text(response)
    response = _post_new(client, tree, question_kind="single", options="只有一个")
    assert response.status_code == 400 and "至少填写两个" in text(response)
    response = _post_new(client, tree, closes_at="明天")
    assert response.status_code == 400 and "年-月-日" in text(response)
    roll = import_roll(tree, personas, [["房屋", "业主", "面积"], ["1-101", "张三", "90"], ["1-102", "李四", "80"]])
    response = _post_new(client, tree, eligibility="owners", owner_roll=roll.pk, rule="civil_code_ordinary")
    assert response.status_code == 400 and "记名" in text(response)
    response = _post_new(client, tree, title="业主表决", eligibility="owners", owner_roll=roll.pk,
                         rule="civil_code_special", ballot="named", question_kind="multiple",
                         options="甲方案\n乙方案\n丙方案", min_choices="1", max_choices="2")
    assert response.status_code == 302
    owners_vote = Vote.objects.get(title="业主表决")
    assert owners_vote.owner_roll == roll and owners_vote.max_choices == 2 and owners_vote.seats == 2
    assert list(owners_vote.options.values_list("label", flat=True)) == ["甲方案", "乙方案", "丙方案"]
    # A place outside the caller's scope is never offered, and refused.
    response = _post_new(client, tree, place=tree.other_community.pk)
    assert response.status_code == 400 and Vote.objects.count() == 2


def test_representatives_are_named_one_per_line(hood: Neighbourhood, tree: Tree, personas: Personas) -> None:
    client = as_user(personas.staff)
    response = _post_new(client, tree, eligibility="representatives", rule="residents_meeting",
                         representatives="王秀英\n李建国\n无此人")
    assert response.status_code == 400 and "找不到“无此人”" in text(response)
    response = _post_new(client, tree, eligibility="representatives", rule="residents_meeting",
                         representatives="王秀英\n李建国")
    vote = Vote.objects.get()
    assert response.status_code == 302
    assert set(VoterRollEntry.objects.filter(vote=vote).values_list("resident_id", flat=True)) == {
        hood.adults[0].pk, hood.adults[1].pk}


def test_drafting_is_refused_to_readers_and_residents(hood: Neighbourhood, personas: Personas) -> None:
    for user in (personas.auditor, personas.street_supervisor, personas.grid_worker, personas.resident):
        assert as_user(user).get(reverse("votes:new")).status_code == 403, user


def test_open_vote_shows_turnout_only_whoever_looks(hood: Neighbourhood, tree: Tree, personas: Personas,
                                                    admin_client: Client) -> None:
    vote = new_vote(tree, personas, secret=False)
    services.vote_cast(vote=vote, by=personas.resident, choice="against")
    url = reverse("votes:detail", args=[vote.pk])
    for client in (as_user(personas.lead), as_user(personas.staff), as_user(personas.auditor)):
        body = text(client.get(url))
        assert "已投票 <strong>1</strong> / 6" in body
        assert "任何人（包括工作人员）都看不到结果" in body
        assert "票数（人）" not in body and "计票说明" not in body
    assert as_user(personas.outside_staff).get(url).status_code == 404
    assert as_user(personas.partner).get(url).status_code == 404
    # The history of a named vote says who changed a ballot, not what they chose, until close.
    services.vote_cast(vote=vote, by=personas.resident, choice="for")
    history = text(as_user(personas.staff).get(reverse("votes:history", args=[vote.pk])))
    assert "王秀英" in history and "截止后才显示" in history and "反对" not in history
    close(vote, personas)
    history = text(as_user(personas.staff).get(reverse("votes:history", args=[vote.pk])))
    assert "当时的选择" in history and "反对" in history


def test_voters_following_a_link_reach_their_ballot_or_the_public_result(
        hood: Neighbourhood, tree: Tree, personas: Personas) -> None:
    vote = new_vote(tree, personas)
    url = reverse("votes:detail", args=[vote.pk])
    response = as_user(personas.resident).get(url)
    assert response.status_code == 302 and response["Location"] == reverse("votes:ballot", args=[vote.pk])
    assert as_user(personas.outsider).get(url).status_code == 404
    for user in hood.voters:
        services.vote_cast(vote=vote, by=user, choice="for")
    services.vote_close(vote=vote, by=personas.lead)
    services.vote_publish(vote=vote, by=personas.lead)
    response = as_user(personas.outsider).get(url)
    assert response.status_code == 302 and response["Location"] == reverse("votes:public_detail", args=[vote.pk])


def test_the_lead_opens_closes_and_publishes(hood: Neighbourhood, tree: Tree, personas: Personas) -> None:
    vote = new_vote(tree, personas, open_it=False, eligibility="representatives", rule="residents_meeting",
                    representatives=hood.adults[:2])
    lead, staff = as_user(personas.lead), as_user(personas.staff)
    detail = reverse("votes:detail", args=[vote.pk])
    assert "开始投票" in text(lead.get(detail)) and "开始投票（生成名册）" not in text(staff.get(detail))
    assert staff.post(reverse("votes:open", args=[vote.pk])).status_code == 403
    assert as_user(personas.auditor).post(reverse("votes:open", args=[vote.pk])).status_code == 403
    assert as_user(personas.outside_staff).post(reverse("votes:open", args=[vote.pk])).status_code == 404
    response = lead.post(reverse("votes:open", args=[vote.pk]), follow=True)
    assert "投票已开始：名册共 2 人" in text(response)
    # Nobody cuts a vote short: refused in words while someone may still vote.
    response = lead.post(reverse("votes:close", args=[vote.pk]), follow=True)
    assert "不能提前结束" in text(response)
    vote = Vote.objects.get(pk=vote.pk)
    assert vote.status == VoteStatus.OPEN
    services.vote_cast(vote=vote, by=personas.resident, choice="for")
    services.vote_cast(vote=vote, by=personas.other_resident, choice="against")
    response = lead.post(reverse("votes:close", args=[vote.pk]), follow=True)
    body = text(response)
    assert "投票已结束" in body and "计票说明" in body and "未通过" in body
    response = lead.post(reverse("votes:publish", args=[vote.pk]), follow=True)
    vote = Vote.objects.get(pk=vote.pk)
    assert vote.status == VoteStatus.PUBLISHED and vote.published.sha256 in text(response)


def test_cancel_needs_a_reason(hood: Neighbourhood, tree: Tree, personas: Personas) -> None:
    vote = new_vote(tree, personas)
    lead = as_user(personas.lead)
    response = lead.post(reverse("votes:cancel", args=[vote.pk]), {"reason": ""}, follow=True)
    assert "请写明取消的原因" in text(response) and Vote.objects.get(pk=vote.pk).status == VoteStatus.OPEN
    lead.post(reverse("votes:cancel", args=[vote.pk]), {"reason": "方案有误，重新表决"})
    assert Vote.objects.get(pk=vote.pk).status == VoteStatus.CANCELLED


def test_reminders_reach_those_who_have_not_voted_once_an_hour(hood: Neighbourhood, tree: Tree,
                                                               personas: Personas) -> None:
    vote = new_vote(tree, personas)
    services.vote_cast(vote=vote, by=personas.resident, choice="for")
    url = reverse("votes:remind", args=[vote.pk])
    assert as_user(personas.grid_worker).post(url).status_code == 404  # the community is above their grid
    assert as_user(personas.auditor).post(url).status_code == 403
    response = as_user(personas.staff).post(url, follow=True)
    assert "已向 5 个尚未投票的账号发送提醒" in text(response)
    told = set(Notification.objects.filter(title__contains=vote.title[:10]).values_list("user_id", flat=True))
    assert told == {u.pk for u in hood.voters[1:]}
    response = as_user(personas.lead).post(url, follow=True)
    assert "一小时内已经提醒过" in text(response)


def test_remind_now_service_is_refused_when_not_open_and_audited(hood: Neighbourhood, tree: Tree,
                                                                 personas: Personas) -> None:
    from django.core.exceptions import PermissionDenied, ValidationError

    from linli.audit.models import AuditEvent
    from linli.deliberation.counting import vote_remind_now

    draft = new_vote(tree, personas, open_it=False)
    with pytest.raises(ValidationError, match="投票中"):
        vote_remind_now(vote=draft, by=personas.staff)
    with pytest.raises(PermissionDenied):
        vote_remind_now(vote=draft, by=personas.grid_worker)
    vote = new_vote(tree, personas)
    assert vote_remind_now(vote=vote, by=personas.staff) == 6
    assert AuditEvent.objects.get(action="deliberation.vote_remind").after == {"told": 6}
    # An hour later it may remind again.
    assert vote_remind_now(vote=vote, by=personas.staff, at=timezone.now() + timedelta(hours=1, minutes=1)) == 6


def test_roll_page_lists_who_may_vote_with_a_constant_number_of_queries(
        hood: Neighbourhood, tree: Tree, personas: Personas) -> None:
    draft = new_vote(tree, personas, open_it=False)
    client = as_user(personas.staff)
    body = text(client.get(reverse("votes:roll", args=[draft.pk])))
    assert "名册在开始投票时按投票资格生成" in body and "王秀英" in body and "王小明" not in body  # 17: not on it
    vote = new_vote(tree, personas)
    services.vote_cast(vote=vote, by=personas.resident, choice="for")
    url = reverse("votes:roll", args=[vote.pk])
    body = text(client.get(url))
    assert "名册共 6 名投票人，已投票 1 名" in body
    assert "王秀英" in text(client.get(url, {"voted": "yes"})) and "李建国" not in text(client.get(url, {"voted": "yes"}))
    assert "李建国" in text(client.get(url, {"q": "李"}))
    one = queries(client, url)
    from linli.people.services import household_create, resident_create

    for i in range(4):
        household = household_create(ref=f"H-9{i}", parent=tree.building, room=f"9{i}室", by=None)
        resident_create(household=household, name=f"新居民{i}", birth_date="1970-01-01", by=None)
    more = new_vote(tree, personas, title="再一次")
    assert queries(client, reverse("votes:roll", args=[more.pk])) == one
    assert as_user(personas.outside_staff).get(url).status_code == 404
    assert as_user(personas.resident).get(url).status_code == 404


def test_history_and_proxies_cost_a_constant_number_of_queries(hood: Neighbourhood, tree: Tree,
                                                               personas: Personas) -> None:
    vote = new_vote(tree, personas, secret=False)
    client = as_user(personas.auditor)
    services.vote_cast(vote=vote, by=hood.voters[0], choice="for")
    services.vote_cast(vote=vote, by=hood.voters[0], choice="against")
    entries = list(VoterRollEntry.objects.filter(vote=vote).order_by("pk"))
    services.proxy_record(vote=vote, principal=entries[1], by=personas.staff, authorisation_ref="A-1",
                          proxy_name="张阿姨")
    history, proxies = reverse("votes:history", args=[vote.pk]), reverse("votes:proxies", args=[vote.pk])
    client.get(history)
    one_history, one_proxies = queries(client, history), queries(client, proxies)
    for i, entry in enumerate(entries[2:5]):
        services.proxy_record(vote=vote, principal=entry, by=personas.staff, authorisation_ref=f"B-{i}",
                              proxy_name=f"受托人{i}", proxy_user=personas.outsider if i == 0 else None)
    for user in hood.voters[2:]:
        services.vote_cast(vote=vote, by=user, choice="for")
        services.vote_cast(vote=vote, by=user, choice="abstain")
    assert queries(client, history) == one_history
    assert queries(client, proxies) == one_proxies
    assert as_user(personas.outside_staff).get(history).status_code == 404
