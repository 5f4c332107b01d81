"""The voter's pages and the public record over HTTP: my votes, the ballot with its
review step, the receipt shown once for a secret ballot, changing a named one, proxies
on the web; the public results with the receipt lookup and the file that verifies."""

from __future__ import annotations

import json
import re

from django.test import Client
from django.urls import reverse

from linli.deliberation import published, services
from linli.deliberation.models import OpenBallot, SecretBallot, Vote, VoterRollEntry
from linli.deliberation.selectors import voter_votes
from tests.conftest import Personas, Tree
from tests.deliberation.conftest import Neighbourhood, import_roll
from tests.deliberation.test_vote_views_support import (
    as_user,
    close,
    new_vote,
    plain,
    queries,
    text,
)


def _cast(client: Client, vote: Vote, **marks: object) -> tuple[object, object]:
    """Fill the ballot, review it, confirm it: the two answers."""
    url = reverse("votes:ballot", args=[vote.pk])
    review = client.post(url, marks)
    confirm = client.post(url, {**marks, "confirm": "1"})
    return review, confirm


def test_my_votes_lists_the_votes_i_may_cast_with_constant_queries(hood: Neighbourhood, tree: Tree,
                                                                   personas: Personas) -> None:
    vote = new_vote(tree, personas)
    client = as_user(personas.resident)
    url = reverse("votes:mine")
    body = text(client.get(url))
    assert vote.title in body and "去投票" in body
    assert vote.title not in text(as_user(personas.outsider).get(url))
    assert vote.title not in text(as_user(personas.staff).get(url))
    one = queries(client, url)
    for i in range(3):
        new_vote(tree, personas, title=f"第{i}项")
    assert queries(client, url) == one
    assert Client().get(url).status_code == 302


def test_a_secret_ballot_is_reviewed_cast_and_its_receipt_shown_once(hood: Neighbourhood, tree: Tree,
                                                                     personas: Personas) -> None:
    vote = new_vote(tree, personas)
    client = as_user(personas.resident)
    url = reverse("votes:ballot", args=[vote.pk])
    page = text(client.get(url))
    assert "赞成" in page and "反对" in page and "弃权" in page
    # Nothing chosen: refused in words, nothing written.
    response = client.post(url, {})
    assert response.status_code == 400 and "请选择赞成、反对或弃权" in text(response)
    review, confirm = _cast(client, vote, choice="against")
    assert review.status_code == 200 and "请核对您的选择" in text(review)
    assert "不能修改" in text(review)
    assert confirm.status_code == 200 and confirm["Cache-Control"].startswith("max-age=0")
    code = SecretBallot.objects.get(vote=vote).receipt
    assert code in plain(confirm) and "只显示这一次" in text(confirm)
    assert SecretBallot.objects.get(vote=vote).choice == "against"
    # Never again: not on the ballot page, the receipt page, nor "my votes".
    for again in (url, reverse("votes:receipt", args=[vote.pk]), reverse("votes:mine")):
        assert code not in plain(client.get(again))
    assert "只在投票后显示一次" in text(client.get(reverse("votes:receipt", args=[vote.pk])))
    # A second attempt is refused and nothing changes.
    response = client.post(url, {"choice": "for", "confirm": "1"})
    assert "已投票" in text(response) and SecretBallot.objects.filter(vote=vote).count() == 1


def test_a_named_ballot_can_be_changed_and_its_receipt_shown_again(hood: Neighbourhood, tree: Tree,
                                                                   personas: Personas) -> None:
    vote = new_vote(tree, personas, secret=False, question_kind="single", options=["东门", "西门", "南门"])
    client = as_user(personas.resident)
    _review, confirm = _cast(client, vote, choice="2")
    assert confirm.status_code == 302
    receipt = client.get(confirm["Location"])
    ballot = OpenBallot.objects.get(vote=vote)
    assert ballot.receipt in plain(receipt) and "西门" in text(receipt)
    # Change it: the form shows the current choice; the history keeps the old one.
    page = text(client.get(reverse("votes:ballot", args=[vote.pk])))
    assert "您已投票：西门" in page
    _cast(client, vote, choice="1")
    ballot.refresh_from_db()
    assert ballot.choice == "1" and ballot.revision == 2
    assert "东门" in text(client.get(reverse("votes:receipt", args=[vote.pk])))


def test_multiple_and_ranked_ballots_refuse_what_the_question_does_not_allow(
        hood: Neighbourhood, tree: Tree, personas: Personas) -> None:
    multi = new_vote(tree, personas, question_kind="multiple", options=["甲", "乙", "丙", "丁"], min_choices=2,
                     max_choices=2)
    client = as_user(personas.resident)
    url = reverse("votes:ballot", args=[multi.pk])
    response = client.post(url, {"choices": ["1"]})
    assert response.status_code == 400 and "请选择 2 项" in text(response)
    assert re.search(r'name="choices" value="1"[^>]*checked', text(response))  # the mark is kept
    response = client.post(url, {"choices": ["1", "3"], "blank": "on"})
    assert response.status_code == 400 and "已勾选弃权" in text(response)
    _cast(client, multi, choices=["3", "1"])
    assert SecretBallot.objects.get(vote=multi).choice == "1+3"

    ranked = new_vote(tree, personas, question_kind="ranked", options=["甲", "乙", "丙"], rule="instant_runoff")
    url = reverse("votes:ballot", args=[ranked.pk])
    response = client.post(url, {"rank_1": "", "rank_2": "2"})
    assert response.status_code == 400 and "中间不要空位" in text(response)
    response = client.post(url, {"rank_1": "2", "rank_2": "2"})
    assert response.status_code == 400 and "不能选择两次" in text(response)
    review, _confirm = _cast(client, ranked, rank_1="3", rank_2="1")
    assert "1. 丙 → 2. 甲" in text(review)
    assert SecretBallot.objects.get(vote=ranked).choice == "3>1"
    # A blank ballot is a choice too, made on purpose.
    _cast(as_user(personas.other_resident), ranked, blank="on")
    assert SecretBallot.objects.filter(vote=ranked, choice="-").count() == 1


def test_the_ballot_is_only_for_those_on_the_roll(hood: Neighbourhood, tree: Tree, personas: Personas) -> None:
    vote = new_vote(tree, personas)
    url = reverse("votes:ballot", args=[vote.pk])
    for user in (personas.outsider, personas.staff, personas.lead, personas.outside_staff):
        assert as_user(user).get(url).status_code == 404, user
    assert as_user(personas.outsider).post(url, {"choice": "for", "confirm": "1"}).status_code == 404
    draft = new_vote(tree, personas, open_it=False)
    assert as_user(personas.resident).get(reverse("votes:ballot", args=[draft.pk])).status_code == 404
    assert not SecretBallot.objects.exists()


def test_a_proxy_votes_for_the_principal_on_the_web(hood: Neighbourhood, tree: Tree, personas: Personas) -> None:
    vote = new_vote(tree, personas, secret=False)
    principal = VoterRollEntry.objects.get(vote=vote, resident__user=personas.resident)
    services.proxy_record(vote=vote, principal=principal, by=personas.staff, authorisation_ref="委托书-9",
                          proxy_user=personas.other_resident)
    client = as_user(personas.other_resident)
    page = text(client.get(reverse("votes:ballot", args=[vote.pk])))
    assert "受托代 王秀英 投票" in page
    own = VoterRollEntry.objects.get(vote=vote, resident__user=personas.other_resident)
    assert {(v.entry.pk, v.proxy) for v in voter_votes(personas.other_resident)} == {
        (own.pk, False), (principal.pk, True)}
    _cast(client, vote, choice="for", **{"for": str(principal.pk)})
    ballot = OpenBallot.objects.get(vote=vote, entry=principal)
    assert ballot.cast_by == personas.other_resident and ballot.proxy is not None
    # Their own ballot is still theirs to cast.
    own.refresh_from_db()
    assert not own.voted


def test_voter_votes_follow_households_and_owners(hood: Neighbourhood, tree: Tree, personas: Personas) -> None:
    vote = new_vote(tree, personas, eligibility="households", title="每户一票")
    assert [v.vote.pk for v in voter_votes(personas.resident)] == [vote.pk]
    roll = import_roll(tree, personas, [["房屋", "业主", "面积"], ["1-101", "张三", "90"], ["1-102", "李四", "80"]])
    owners = new_vote(tree, personas, eligibility="owners", owner_roll=roll, rule="civil_code_ordinary",
                      secret=False, title="业主表决")
    assert owners.pk not in [v.vote.pk for v in voter_votes(personas.outsider)]
    from linli.deliberation.models import Owner

    services.owner_link(owner=Owner.objects.get(roll=roll, name="张三"), by=personas.staff, user=personas.outsider)
    assert [v.vote.pk for v in voter_votes(personas.outsider)] == [owners.pk]
    # A household member under 18 on the opening day does not cast the household's ballot.
    from linli.accounts.models import User
    from linli.people.models import Resident

    teen = User.objects.create_user("teen", password="x-long-enough-42")
    Resident.objects.filter(pk=hood.child.pk).update(user=teen)
    assert voter_votes(teen) == []


def _published(tree: Tree, personas: Personas, hood: Neighbourhood, *,
               choices: tuple[str, ...] = ("for", "for", "against", "abstain", "for", "against"),
               **fields: object) -> tuple[Vote, dict[str, str]]:
    vote = new_vote(tree, personas, **fields)
    receipts = {}
    for user, choice in zip(hood.voters, choices, strict=True):
        receipts[user.username] = services.vote_cast(vote=vote, by=user, choice=choice).code
    vote = close(vote, personas)
    services.vote_publish(vote=vote, by=personas.lead)
    return Vote.objects.get(pk=vote.pk), receipts


def test_public_results_need_no_sign_in_and_find_a_receipt(hood: Neighbourhood, tree: Tree,
                                                           personas: Personas) -> None:
    vote, receipts = _published(tree, personas, hood)
    anonymous = Client()
    listing = text(anonymous.get(reverse("votes:public_list")))
    assert vote.title in listing
    url = reverse("votes:public_detail", args=[vote.pk])
    page = anonymous.get(url)
    body = text(page)
    assert page.status_code == 200 and vote.published.sha256 in body
    assert f"linli vote verify linli-vote-{vote.pk}-result.json --sha256 {vote.published.sha256}" in body
    assert all(code in plain(page) for code in receipts.values())
    assert "王秀英" not in body and "resident" not in body  # no names on the public record
    mine = receipts["resident"]
    typed = mine.lower().replace("-", " ")  # what a person types
    found = text(anonymous.get(url, {"receipt": typed}))
    assert f"回执码 <strong class=\"code\">{mine}</strong> 的选票已计入" in found
    missing = anonymous.get(url, {"receipt": "0000-0000-0000-0000"})
    assert missing.status_code == 200 and "没有这个回执码" in text(missing)
    malformed = anonymous.get(url, {"receipt": "abc"})
    assert malformed.status_code == 400 and "16 位" in text(malformed)


def test_the_result_file_is_the_published_document_and_verifies(hood: Neighbourhood, tree: Tree,
                                                                personas: Personas) -> None:
    vote, receipts = _published(tree, personas, hood)
    response = Client().get(reverse("votes:public_file", args=[vote.pk]))
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    assert "attachment" in response["Content-Disposition"]
    data = response.content
    assert published.sha256_hex(data) == vote.published.sha256
    assert published.verify_bytes(data).ok
    assert {b["receipt"] for b in json.loads(data)["ballots"]} == set(receipts.values())


def test_unpublished_votes_are_not_public(hood: Neighbourhood, tree: Tree, personas: Personas) -> None:
    vote = new_vote(tree, personas)
    services.vote_cast(vote=vote, by=personas.resident, choice="for")
    for name in ("votes:public_detail", "votes:public_file"):
        assert Client().get(reverse(name, args=[vote.pk])).status_code == 404
    close(vote, personas)  # closed but not published: still not public
    for name in ("votes:public_detail", "votes:public_file"):
        assert as_user(personas.lead).get(reverse(name, args=[vote.pk])).status_code == 404
    assert vote.title not in text(Client().get(reverse("votes:public_list")))


def test_public_pages_cost_a_constant_number_of_queries(hood: Neighbourhood, tree: Tree,
                                                        personas: Personas) -> None:
    first, _receipts = _published(tree, personas, hood)
    anonymous = Client()
    listing = queries(anonymous, reverse("votes:public_list"))
    detail = queries(anonymous, reverse("votes:public_detail", args=[first.pk]))
    second, _more = _published(tree, personas, hood, title="第二次表决", question_kind="single",
                               options=["甲", "乙"], rule="simple_majority", choices=("1", "2", "1", "1", "2", "-"))
    assert queries(anonymous, reverse("votes:public_list")) == listing
    assert queries(anonymous, reverse("votes:public_detail", args=[second.pk])) <= detail
