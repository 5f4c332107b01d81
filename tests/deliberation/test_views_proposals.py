"""The proposals pages (居民提议): a resident proposes, neighbours support it until it
reaches the agenda, the committee answers publicly; who may see and do what."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from linli.deliberation import services
from linli.deliberation.models import DeliberationConfig, Proposal, ProposalStatus, ProposalSupport
from linli.notifications.models import Notification
from tests.conftest import Personas, Tree, login
from tests.deliberation.conftest import Neighbourhood

pytestmark = pytest.mark.django_db


def body(response: Any) -> str:
    return str(response.content.decode())


def as_user(client: Client, user: Any) -> Client:
    return login(client, user)


@pytest.fixture
def threshold_two(tree: Tree) -> None:
    DeliberationConfig.objects.create(place=tree.community, support_threshold=2)


def test_a_resident_proposes_and_neighbours_support_it_onto_the_agenda(
        client: Client, hood: Neighbourhood, tree: Tree, threshold_two: None) -> None:
    as_user(client, hood.voters[0])
    page = client.get(reverse("deliberation:proposal_new"))
    assert page.status_code == 200 and "樱花园社区" in body(page) and "3号楼" in body(page)
    response = client.post(reverse("deliberation:proposal_new"), {
        "title": "3号楼前增设休息座椅", "body": "老人散步需要歇脚的地方。", "place": tree.building.pk})
    proposal = Proposal.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "deliberation:proposal_detail", args=[proposal.pk])
    assert proposal.place == tree.building and proposal.support_threshold == 2
    # The proposer cannot support their own proposal: no button.
    assert 'data-testid="support"' not in body(client.get(response["Location"]))

    for voter in hood.voters[1:3]:
        other = Client()
        as_user(other, voter)
        detail = other.get(reverse("deliberation:proposal_detail", args=[proposal.pk]))
        assert 'data-testid="support"' in body(detail)
        assert other.post(reverse("deliberation:proposal_support", args=[proposal.pk])).status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.AGENDA and proposal.supports_count == 2
    assert Notification.objects.filter(user=hood.voters[0], title__contains="列入居委会议程").exists()
    # Supporting twice is refused in words, not by an error page.
    again = Client()
    as_user(again, hood.voters[1])
    response = again.post(reverse("deliberation:proposal_support", args=[proposal.pk]), follow=True)
    assert "您已附议这项提议" in body(response)
    assert ProposalSupport.objects.filter(proposal=proposal).count() == 2


def test_a_bad_proposal_keeps_what_was_typed(client: Client, hood: Neighbourhood, tree: Tree) -> None:
    as_user(client, hood.voters[0])
    response = client.post(reverse("deliberation:proposal_new"), {
        "title": "", "body": "这段说明应当保留在表单里。", "place": tree.community.pk})
    assert response.status_code == 400
    assert "这段说明应当保留在表单里。" in body(response) and 'role="alert"' in body(response)
    response = client.post(reverse("deliberation:proposal_new"), {
        "title": "别处的提议", "body": "说明", "place": tree.other_community.pk})
    assert response.status_code == 400 and not Proposal.objects.exists()


@pytest.mark.parametrize("who", ["staff", "auditor", "outsider", "partner"])
def test_only_residents_may_propose(client: Client, hood: Neighbourhood, personas: Personas, who: str) -> None:
    as_user(client, getattr(personas, who))
    assert client.get(reverse("deliberation:proposal_new")).status_code == 403


def test_the_committee_answers_publicly_and_the_proposer_reads_it(
        client: Client, hood: Neighbourhood, tree: Tree, personas: Personas) -> None:
    first = services.proposal_create(by=hood.voters[0], place=tree.community, title="修补东门路面", body="坑洼")
    second = services.proposal_create(by=hood.voters[1], place=tree.community, title="东门路面积水", body="积水")
    as_user(client, personas.staff)
    url = reverse("deliberation:proposal_answer", args=[second.pk])
    # "Merged" without naming the target: the form says so and keeps the answer.
    response = client.post(url, {"outcome": "merged", "answer": "同一个问题，一并处理。"})
    assert response.status_code == 400 and "同一个问题，一并处理。" in body(response)
    assert "请选择合并到哪一项提议" in body(response)
    response = client.post(url, {"outcome": "merged", "answer": "同一个问题，一并处理。", "merged_into": first.pk})
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.status == ProposalStatus.MERGED and second.merged_into == first
    # Answering again is refused in words.
    response = client.post(url, {"outcome": "accepted", "answer": "再答一次"})
    assert response.status_code == 400 and "已经答复" in body(response)

    reader = Client()
    as_user(reader, hood.voters[1])
    page = body(reader.get(reverse("deliberation:proposal_detail", args=[second.pk])))
    assert "居委会答复" in page and "同一个问题，一并处理。" in page and "修补东门路面" in page
    assert "answer-form" not in page  # residents do not answer


def test_read_only_and_working_staff_may_not_answer(
        client: Client, hood: Neighbourhood, tree: Tree, personas: Personas) -> None:
    # In the grid worker's grid, so all three see it.
    proposal = services.proposal_create(by=hood.voters[0], place=tree.building, title="加装电梯", body="老楼")
    for who in ("auditor", "grid_worker", "street_supervisor"):
        as_user(client, getattr(personas, who))
        assert client.get(reverse("deliberation:proposal_detail", args=[proposal.pk])).status_code == 200
        response = client.post(reverse("deliberation:proposal_answer", args=[proposal.pk]),
                               {"outcome": "accepted", "answer": "采纳"})
        assert response.status_code == 403, who
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.OPEN


@pytest.mark.parametrize("who", ["outsider", "outside_staff", "partner"])
def test_outsiders_see_nothing_of_a_proposal(
        client: Client, hood: Neighbourhood, tree: Tree, personas: Personas, who: str) -> None:
    proposal = services.proposal_create(by=hood.voters[0], place=tree.community, title="加装电梯", body="老楼")
    as_user(client, getattr(personas, who))
    for name in ("proposal_detail",):
        assert client.get(reverse(f"deliberation:{name}", args=[proposal.pk])).status_code == 404
    for name in ("proposal_support", "proposal_withdraw", "proposal_answer", "proposal_agenda"):
        assert client.post(reverse(f"deliberation:{name}", args=[proposal.pk])).status_code == 404, name


def test_staff_support_is_refused(client: Client, hood: Neighbourhood, tree: Tree, personas: Personas) -> None:
    proposal = services.proposal_create(by=hood.voters[0], place=tree.community, title="加装电梯", body="老楼")
    as_user(client, personas.staff)
    assert client.post(reverse("deliberation:proposal_support", args=[proposal.pk])).status_code == 403


def test_the_proposer_withdraws_before_the_agenda(client: Client, hood: Neighbourhood, tree: Tree) -> None:
    proposal = services.proposal_create(by=hood.voters[0], place=tree.community, title="加装电梯", body="老楼")
    other = Client()
    as_user(other, hood.voters[1])
    assert other.post(reverse("deliberation:proposal_withdraw", args=[proposal.pk])).status_code == 403
    as_user(client, hood.voters[0])
    assert "撤回提议" in body(client.get(reverse("deliberation:proposal_detail", args=[proposal.pk])))
    client.post(reverse("deliberation:proposal_withdraw", args=[proposal.pk]))
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.WITHDRAWN


def test_staff_put_a_proposal_on_a_meeting_agenda(
        client: Client, hood: Neighbourhood, tree: Tree, personas: Personas) -> None:
    from tests.deliberation.conftest import OPENS

    proposal = services.proposal_create(by=hood.voters[0], place=tree.community, title="加装电梯", body="老楼")
    meeting = services.meeting_create(by=personas.staff, place=tree.community, kind="council", title="议事会",
                                      starts_at=OPENS)
    as_user(client, personas.staff)
    url = reverse("deliberation:proposal_agenda", args=[proposal.pk])
    assert client.post(url, {"meeting": 999999}).status_code == 400
    assert client.post(url, {"meeting": meeting.pk}).status_code == 302
    assert list(meeting.agenda.values_list("proposal_id", flat=True)) == [proposal.pk]
    response = client.post(url, {"meeting": meeting.pk})
    assert response.status_code == 400 and "已在本次会议议程中" in body(response)


def test_the_list_shows_the_community_and_runs_few_queries(
        client: Client, hood: Neighbourhood, tree: Tree, personas: Personas,
        django_assert_max_num_queries: Any) -> None:
    for i in range(3):
        services.proposal_create(by=hood.voters[i], place=tree.community, title=f"提议{i}", body="说明")
    as_user(client, hood.voters[0])
    client.get(reverse("deliberation:proposals"))  # warm the session

    def count_for(n: int) -> None:
        with django_assert_max_num_queries(14):
            response = client.get(reverse("deliberation:proposals"))
        assert response.status_code == 200 and body(response).count("proposal-card") == n

    count_for(3)
    for i in range(3, 6):
        services.proposal_create(by=hood.voters[i], place=tree.community, title=f"提议{i}", body="说明")
    count_for(6)
    # Filters by state; an unknown one shows everything.
    assert body(client.get(reverse("deliberation:proposals") + "?status=answered")).count("proposal-card") == 0
    assert body(client.get(reverse("deliberation:proposals") + "?status=bogus")).count("proposal-card") == 6
    # Staff of the other community see none of them.
    as_user(client, personas.outside_staff)
    assert body(client.get(reverse("deliberation:proposals"))).count("proposal-card") == 0
    as_user(client, personas.outsider)
    assert client.get(reverse("deliberation:proposals")).status_code == 403
