"""Paper ballots and proxies over HTTP: one member of staff types a ballot in, a second,
different one confirms it from the queue of what awaits confirmation; secret papers are
handed out against the roll and typed in by their printed code after close; proxies are
recorded with their written authorisation and can be revoked."""

from __future__ import annotations

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from linli.deliberation import services
from linli.deliberation.models import (
    OpenBallot,
    PaperBallotEntry,
    PaperCode,
    PaperEntryStatus,
    Proxy,
    SecretBallot,
    Vote,
    VoterRollEntry,
)
from tests.conftest import Personas, Tree
from tests.deliberation.conftest import Neighbourhood
from tests.deliberation.test_vote_views_support import as_user, close, new_vote, queries, text


def _entry(vote: Vote, name: str) -> VoterRollEntry:
    return VoterRollEntry.objects.get(vote=vote, label=name)


def test_a_named_paper_ballot_is_entered_by_one_and_confirmed_by_another(
        hood: Neighbourhood, tree: Tree, personas: Personas) -> None:
    vote = new_vote(tree, personas, secret=False)
    staff, lead = as_user(personas.staff), as_user(personas.lead)
    url = reverse("votes:paper", args=[vote.pk])
    # Find the voter named on the paper, then type in what they marked.
    found = text(staff.get(url, {"q": "居民1"}))
    entry = _entry(vote, "居民1")
    assert f"?entry={entry.pk}" in found
    form = text(staff.get(url, {"entry": entry.pk}))
    assert "正在录入 <strong>居民1</strong> 的纸质选票" in form
    response = staff.post(url, {"entry": entry.pk})
    assert response.status_code == 400 and "请选择赞成、反对或弃权" in text(response)
    response = staff.post(url, {"entry": entry.pk, "choice": "against"}, follow=True)
    assert "等待另一名工作人员" in text(response)
    paper = PaperBallotEntry.objects.get()
    assert paper.status == PaperEntryStatus.PENDING and not VoterRollEntry.objects.get(pk=entry.pk).voted
    # The queue shows what awaits confirmation; the one who typed it cannot confirm it.
    queue = text(staff.get(url))
    assert "待复核（1 张）" in queue and "这是您录入的" in queue
    assert reverse("votes:paper_confirm", args=[paper.pk]) not in queue
    response = staff.post(reverse("votes:paper_confirm", args=[paper.pk]), follow=True)
    assert "另一名工作人员" in text(response)
    assert PaperBallotEntry.objects.get().status == PaperEntryStatus.PENDING
    queue = text(lead.get(url))
    assert reverse("votes:paper_confirm", args=[paper.pk]) in queue and "录入的选择：反对" in queue
    assert as_user(personas.auditor).post(reverse("votes:paper_confirm", args=[paper.pk])).status_code == 403
    assert as_user(personas.outside_staff).post(reverse("votes:paper_confirm", args=[paper.pk])).status_code == 404
    response = lead.post(reverse("votes:paper_confirm", args=[paper.pk]), follow=True)
    assert "已复核" in text(response)
    assert OpenBallot.objects.get(entry=entry).channel == "paper"
    assert "没有待复核的纸质选票" in text(lead.get(url))
    # The voter has voted: the search offers them no more.
    assert f"?entry={entry.pk}" not in text(staff.get(url, {"q": "居民1"}))


def test_a_paper_entry_sent_back_needs_a_reason_and_never_counts(hood: Neighbourhood, tree: Tree,
                                                                 personas: Personas) -> None:
    vote = new_vote(tree, personas, secret=False)
    entry = _entry(vote, "居民2")
    paper = services.paper_entry_create(vote=vote, by=personas.staff, choice="for", entry=entry)
    lead = as_user(personas.lead)
    response = lead.post(reverse("votes:paper_reject", args=[paper.pk]), {"reason": ""}, follow=True)
    assert "写明原因" in text(response)
    lead.post(reverse("votes:paper_reject", args=[paper.pk]), {"reason": "与纸质选票不符"})
    paper.refresh_from_db()
    assert paper.status == PaperEntryStatus.REJECTED and paper.decided_by == personas.lead
    assert not OpenBallot.objects.exists()


def test_the_queue_costs_a_constant_number_of_queries(hood: Neighbourhood, tree: Tree, personas: Personas) -> None:
    vote = new_vote(tree, personas, secret=False)
    services.paper_entry_create(vote=vote, by=personas.staff, choice="for", entry=_entry(vote, "居民0"))
    client = as_user(personas.lead)
    url = reverse("votes:paper", args=[vote.pk])
    client.get(url)
    one = queries(client, url)
    for name in ("居民1", "居民2", "居民3", "李建国"):
        services.paper_entry_create(vote=vote, by=personas.staff, choice="against", entry=_entry(vote, name))
    assert queries(client, url) == one


def test_secret_paper_ballots_are_issued_against_the_roll_and_typed_in_by_code_after_close(
        hood: Neighbourhood, tree: Tree, personas: Personas) -> None:
    vote = new_vote(tree, personas)
    staff, lead = as_user(personas.staff), as_user(personas.lead)
    codes_url = reverse("votes:paper_codes", args=[vote.pk])
    assert as_user(personas.auditor).post(codes_url, {"count": "3"}).status_code == 403
    response = staff.post(codes_url, {"count": "0"})
    assert response.status_code == 400
    staff.post(codes_url, {"count": "3"})
    codes = set(PaperCode.objects.filter(vote=vote).values_list("code", flat=True))
    page = text(staff.get(codes_url))
    assert len(codes) == 3 and all(code in page for code in codes)
    # Handing a paper to a voter on the roll is their claim.
    entry = _entry(vote, "居民3")
    paper_url = reverse("votes:paper", args=[vote.pk])
    assert f'value="{entry.pk}"' in text(staff.get(paper_url, {"q": "居民3"}))
    staff.post(reverse("votes:paper_issue", args=[vote.pk]), {"entry": entry.pk})
    entry.refresh_from_db()
    assert entry.voted and entry.channel == "paper"
    response = staff.post(reverse("votes:paper_issue", args=[vote.pk]), {"entry": entry.pk}, follow=True)
    assert "已经投过票" in text(response)
    # Entries by code wait for the ballot box to be opened.
    code = sorted(codes)[0]
    response = staff.post(paper_url, {"code": code, "choice": "for"})
    assert response.status_code == 400 and not PaperBallotEntry.objects.exists()
    close(vote, personas)
    response = staff.post(paper_url, {"code": "not-a-code", "choice": "for"})
    assert response.status_code == 400 and "16 位" in text(response)
    response = staff.post(paper_url, {"code": code.lower().replace("-", " "), "choice": "for"}, follow=True)
    assert "等待另一名工作人员" in text(response)
    paper = PaperBallotEntry.objects.get()
    lead.post(reverse("votes:paper_confirm", args=[paper.pk]))
    assert SecretBallot.objects.get(vote=vote).receipt == code


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(out, "PNG")
    return out.getvalue()


def test_proxies_are_recorded_with_their_authorisation_and_revoked(hood: Neighbourhood, tree: Tree,
                                                                   personas: Personas) -> None:
    vote = new_vote(tree, personas, secret=False)
    staff = as_user(personas.staff)
    url = reverse("votes:proxies", args=[vote.pk])
    principal = _entry(vote, "王秀英")
    assert f"?principal={principal.pk}" in text(staff.get(url, {"q": "王"}))
    response = staff.post(url, {"principal": principal.pk, "proxy_name": "李建国", "authorisation_ref": "",
                                "proxy_username": "nobody"})
    body = text(response)
    assert response.status_code == 400 and "李建国" in body  # what was typed is kept
    response = staff.post(url, {"principal": principal.pk, "proxy_name": "李建国", "authorisation_ref": "WT-2026-3",
                                "proxy_username": "nobody"})
    assert response.status_code == 400 and "没有这个账号" in text(response)
    response = staff.post(url, {
        "principal": principal.pk, "proxy_name": "李建国", "authorisation_ref": "WT-2026-3",
        "proxy_username": personas.other_resident.username,
        "authorisation_file": SimpleUploadedFile("wt.png", _png(), content_type="image/png"),
    }, follow=True)
    assert "委托已登记" in text(response)
    proxy = Proxy.objects.get()
    assert proxy.proxy_user == personas.other_resident and proxy.recorded_by == personas.staff
    photo = staff.get(reverse("votes:proxy_file", args=[proxy.pk]))
    assert photo.status_code == 200 and photo["Cache-Control"] == "private, no-store"
    assert as_user(personas.outside_staff).get(reverse("votes:proxy_file", args=[proxy.pk])).status_code == 404
    assert as_user(personas.resident).get(reverse("votes:proxy_file", args=[proxy.pk])).status_code == 404
    assert as_user(personas.auditor).post(reverse("votes:proxy_revoke", args=[proxy.pk])).status_code == 403
    staff.post(reverse("votes:proxy_revoke", args=[proxy.pk]))
    proxy.refresh_from_db()
    assert proxy.revoked_at is not None and "已撤销" in text(staff.get(url))
