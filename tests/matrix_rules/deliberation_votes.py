"""Matrix rows of the vote pages (``linli.deliberation.vote_urls``, namespace ``votes``).

Inside objects live at ``tree.community``: an open secret vote whose roll is the two
residents' representatives (``resident`` and ``other_resident`` are on it), a named one
with a paper ballot typed in by ``staff`` awaiting confirmation, a published one, a
proxy with its authorisation photo and an owners' roll. The far objects are the same
at the other community (its committee lead is made here). Staff roles reach votes below
their grants (the grid worker's grid lies below the community, so community votes are
404 to them); the street level and auditors read (403 on every change); only the
committee lead opens, closes and publishes. A refused action (a vote that may not close
yet, one's own paper entry) answers with a message and a redirect, so every row past
access control is "ok" whatever state the previous persona left. Residents reach their
ballot and receipt; the results are public once published.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from linli.accounts.models import Role
from linli.deliberation import services
from linli.deliberation.models import OwnerRoll, Vote, VoterRollEntry
from tests.conftest import make_user
from tests.matrix_base import SIGNED_IN, Rule, World, everyone, only

READERS = frozenset({"staff", "lead", "street_supervisor", "auditor", "superuser"})
VOTERS = frozenset({"resident", "other_resident"})
VIEW_ANYWHERE = frozenset({"grid_worker", "staff", "lead", "street_supervisor", "auditor", "superuser",
                           "outside_staff"})
MANAGE_ANYWHERE = frozenset({"staff", "lead", "outside_staff"})


def _readers() -> dict[str, str]:
    return only(READERS)


def _writers() -> dict[str, str]:
    """Paper ballots, proxies, reminders: community staff and the lead; readers get 403."""
    return only(READERS, auditor="403", street_supervisor="403", superuser="403")


def _run() -> dict[str, str]:
    """Open, close, publish, cancel: the committee lead only."""
    return only(READERS, staff="403", auditor="403", street_supervisor="403", superuser="403")


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(out, "PNG")
    return out.getvalue()


class _Votes:
    """The objects of one side (inside or far), made once per world."""

    def __init__(self, w: World, *, far: bool) -> None:
        tree, personas = w.tree, w.personas
        now = timezone.now()
        self.place = tree.other_community if far else tree.community
        self.staff = personas.outside_staff if far else personas.staff
        self.lead = make_user("far_lead", Role.COMMITTEE_LEAD, tree.other_community) if far else personas.lead
        voters = [w.resident_far] if far else [w.resident_inside, w.resident_other]
        fields: dict[str, Any] = {
            "place": self.place, "question_kind": "yes_no", "eligibility": "representatives",
            "rule": "residents_meeting", "opens_at": now - timedelta(hours=1), "closes_at": now + timedelta(days=2),
            "representatives": voters,
        }
        self.secret = self._open(title="是否增设充电桩", secret=True, **fields)
        self.named = self._open(title="是否更换大门", secret=False, **fields)
        entry = VoterRollEntry.objects.filter(vote=self.named).order_by("-pk").first()
        assert entry is not None
        self.paper = services.paper_entry_create(vote=self.named, by=self.staff, choice="for", entry=entry)
        principal = VoterRollEntry.objects.filter(vote=self.secret).order_by("pk").first()
        assert principal is not None
        self.proxy = services.proxy_record(
            vote=self.secret, principal=principal, by=self.staff, authorisation_ref="WT-1", proxy_name="受托人",
            authorisation_file=SimpleUploadedFile("wt.png", _png(), content_type="image/png"))
        self.roll = services.owner_roll_import(
            place=self.place, by=self.staff,
            upload=SimpleUploadedFile("r.csv", "房屋,业主,面积\n1-101,张三,90\n".encode(), content_type="text/csv"),
        ).roll
        self.published: Vote | None = None
        if not far:
            done = self._open(title="已公布的表决", secret=True, **fields)
            services.vote_cast(vote=done, by=personas.resident, choice="for")
            services.vote_cast(vote=done, by=personas.other_resident, choice="against")
            done = services.vote_close(vote=done, by=self.lead)
            services.vote_publish(vote=done, by=self.lead)
            self.published = done

    def _open(self, **fields: Any) -> Vote:
        vote = services.vote_create(by=self.staff, **fields)
        return services.vote_open(vote=vote, by=self.lead)


def _side(w: World, *, far: bool = False) -> _Votes:
    attr = "_votes_far" if far else "_votes_inside"
    found = getattr(w, attr, None)
    if found is None:
        found = _Votes(w, far=far)
        setattr(w, attr, found)
    return found


def _pk(attr: str, *, far: bool = False) -> Callable[[World], dict[str, Any]]:
    def kwargs(w: World) -> dict[str, Any]:
        obj = getattr(_side(w, far=far), attr)
        return {"pk": obj.pk}

    return kwargs


def _published(w: World) -> dict[str, Any]:
    published = _side(w).published
    assert published is not None
    return {"pk": published.pk}


RULES: dict[str, Rule] = {
    # Staff: the list and drafting (403 for those holding no deliberation role).
    "votes:list": Rule(expect=only(VIEW_ANYWHERE), default="403"),
    "votes:new": Rule(expect=only(MANAGE_ANYWHERE), default="403"),
    # One vote: residents on its roll are sent on to their ballot.
    "votes:detail": Rule(kwargs=_pk("secret"), expect=only(READERS | VOTERS)),
    "votes:open": Rule(method="post", kwargs=_pk("secret"), expect=_run()),
    "votes:close": Rule(method="post", kwargs=_pk("secret"), expect=_run()),
    "votes:publish": Rule(method="post", kwargs=_pk("secret"), expect=_run()),
    "votes:cancel": Rule(method="post", kwargs=_pk("secret"), data={"reason": "矩阵测试"}, expect=_run()),
    "votes:remind": Rule(method="post", kwargs=_pk("secret"), expect=_writers()),
    "votes:roll": Rule(kwargs=_pk("secret"), expect=_readers()),
    "votes:history": Rule(kwargs=_pk("named"), expect=_readers()),
    # Paper ballots and proxies.
    "votes:paper": Rule(kwargs=_pk("named"), expect=_readers()),
    "votes:paper_issue": Rule(method="post", kwargs=_pk("secret"), data={"entry": "0"}, expect=_writers()),
    "votes:paper_codes": Rule(kwargs=_pk("secret"), expect=_readers()),
    "votes:paper_confirm": Rule(method="post", kwargs=_pk("paper"), expect=_writers()),
    "votes:paper_reject": Rule(method="post", kwargs=_pk("paper"), data={"reason": "与选票不符"}, expect=_writers()),
    "votes:proxies": Rule(kwargs=_pk("secret"), expect=_readers()),
    "votes:proxy_revoke": Rule(method="post", kwargs=_pk("proxy"), expect=_writers()),
    "votes:proxy_file": Rule(kwargs=_pk("proxy"), expect=_readers()),
    # The owners' roll.
    "votes:owner_rolls": Rule(expect=only(VIEW_ANYWHERE), default="403"),
    "votes:owner_roll_import": Rule(expect=only(MANAGE_ANYWHERE), default="403"),
    "votes:owner_roll": Rule(kwargs=_pk("roll"), expect=_readers()),
    "votes:owner_link": Rule(method="post", kwargs=lambda w: {"pk": _owner(w)}, data={"username": ""},
                             expect=_writers()),
    # The voter.
    "votes:mine": Rule(expect=only(SIGNED_IN)),
    "votes:ballot": Rule(kwargs=_pk("secret"), expect=only(VOTERS)),
    "votes:receipt": Rule(kwargs=_pk("secret"), expect=only(VOTERS)),
    # The public record.
    "votes:public_list": Rule(expect=everyone()),
    "votes:public_detail": Rule(kwargs=_published, expect=everyone()),
    "votes:public_file": Rule(kwargs=_published, expect=everyone()),
}


def _owner(w: World, *, far: bool = False) -> int:
    roll = _side(w, far=far).roll
    assert isinstance(roll, OwnerRoll)
    return int(roll.owners.values_list("pk", flat=True).get())


OUTSIDE: dict[str, Callable[[World], dict[str, Any]]] = {
    **{name: _pk("secret", far=True) for name in (
        "votes:detail", "votes:open", "votes:close", "votes:publish", "votes:cancel", "votes:remind", "votes:roll",
        "votes:paper_issue", "votes:paper_codes", "votes:proxies", "votes:ballot", "votes:receipt")},
    "votes:history": _pk("named", far=True),
    "votes:paper": _pk("named", far=True),
    "votes:paper_confirm": _pk("paper", far=True),
    "votes:paper_reject": _pk("paper", far=True),
    "votes:proxy_revoke": _pk("proxy", far=True),
    "votes:proxy_file": _pk("proxy", far=True),
    "votes:owner_roll": _pk("roll", far=True),
    "votes:owner_link": lambda w: {"pk": _owner(w, far=True)},
}

