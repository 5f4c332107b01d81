"""Votes through the services: rolls, casting on every channel, secrecy, results hidden
until close, two-person paper control, proxies, publication and verification."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from fractions import Fraction
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, models, transaction

from linli.accounts.models import User
from linli.audit.models import AuditEvent
from linli.audit.services import audit_verify
from linli.core.jobs import registered_jobs
from linli.deliberation import counting, published, rules, services, voting
from linli.deliberation.models import (
    DeliberationConfig,
    OpenBallot,
    OpenBallotRevision,
    Owner,
    PaperBallotEntry,
    PaperEntryStatus,
    PublishedResult,
    SecretBallot,
    Vote,
    VoterRollEntry,
    VoteStatus,
)
from linli.notifications.models import Notification
from linli.people.models import Resident
from tests.conftest import Personas, Tree
from tests.deliberation.conftest import (
    AFTER,
    CLOSES,
    DURING,
    OPENS,
    MakeVote,
    Neighbourhood,
    import_roll,
)


def entry_of(vote: Vote, user: User) -> VoterRollEntry:
    return VoterRollEntry.objects.get(vote=vote, resident__user=user)


def close(vote: Vote, personas: Personas) -> Vote:
    return services.vote_close(vote=vote, by=personas.lead, at=AFTER)


# Rolls ------------------------------------------------------------------------------------------

def test_adults_roll_is_built_at_opening(hood: Neighbourhood, make_vote: MakeVote) -> None:
    vote = make_vote()
    on_roll = set(VoterRollEntry.objects.filter(vote=vote).values_list("resident_id", flat=True))
    assert on_roll == {r.pk for r in hood.adults}  # the 17-year-old is not on it
    assert vote.roll_headcount == len(hood.adults) and vote.status == VoteStatus.OPEN


def test_households_roll_has_one_row_per_household_and_any_adult_member_votes_for_it(
        hood: Neighbourhood, make_vote: MakeVote, personas: Personas) -> None:
    from linli.people.services import resident_create

    spouse = resident_create(household=hood.households[0], name="王建华", birth_date="1957-03-03",
                             user=User.objects.create_user("spouse", password="x-long-enough-42"), by=None)
    vote = make_vote(eligibility="households")
    assert vote.roll_headcount == len(hood.households)
    teen = User.objects.create_user("teen", password="x-long-enough-42")
    Resident.objects.filter(pk=hood.child.pk).update(user=teen)
    with pytest.raises(PermissionDenied):  # 17: not the one who casts the household's ballot
        services.vote_cast(vote=vote, by=teen, choice="against", at=DURING)
    receipt = services.vote_cast(vote=vote, by=spouse.user, choice="for", at=DURING)
    assert receipt.code
    with pytest.raises(voting.AlreadyVoted):  # the household has voted
        services.vote_cast(vote=vote, by=personas.resident, choice="against", at=DURING)


def test_representatives_vote_is_limited_to_the_list(hood: Neighbourhood, make_vote: MakeVote,
                                                     personas: Personas) -> None:
    vote = make_vote(eligibility="representatives", representatives=hood.adults[:2], rule="residents_meeting")
    assert vote.roll_headcount == 2
    services.vote_cast(vote=vote, by=personas.resident, choice="for", at=DURING)
    with pytest.raises(PermissionDenied):
        services.vote_cast(vote=vote, by=hood.voters[3], choice="for", at=DURING)


def test_vote_create_refuses_unlawful_combinations(hood: Neighbourhood, make_vote: MakeVote, tree: Tree,
                                                   personas: Personas) -> None:
    roll = import_roll(tree, personas, [["房屋", "业主", "面积"], ["1-101", "张三", "90"]])
    with pytest.raises(ValidationError, match="记名"):
        make_vote(eligibility="owners", owner_roll=roll, rule="civil_code_ordinary", secret=True, open_it=False)
    with pytest.raises(ValidationError, match="第二百七十八条"):
        make_vote(eligibility="adults", rule="civil_code_special", open_it=False)
    with pytest.raises(ValidationError, match="排序"):
        make_vote(question_kind="ranked", options=["甲", "乙"], rule="simple_majority", open_it=False)
    with pytest.raises(ValidationError):
        make_vote(question_kind="multiple", options=["甲", "乙", "丙"], min_choices=3, max_choices=2, open_it=False)
    with pytest.raises(ValidationError, match="截止时间"):
        make_vote(closes_at=OPENS, open_it=False)
    with pytest.raises(PermissionDenied):
        services.vote_create(by=personas.auditor, place=tree.community, title="x", question_kind="yes_no",
                             eligibility="adults", rule="simple_majority", opens_at=OPENS, closes_at=CLOSES)
    draft = make_vote(open_it=False)
    with pytest.raises(PermissionDenied):  # staff draft; only the committee lead opens
        services.vote_open(vote=draft, by=personas.staff, at=OPENS)


# Secrecy ------------------------------------------------------------------------------------------

def test_secret_ballot_rows_carry_no_voter_and_no_timestamp(hood: Neighbourhood, make_vote: MakeVote,
                                                            personas: Personas) -> None:
    fields = {f.name: f for f in SecretBallot._meta.concrete_fields}
    assert set(fields) == {"id", "vote", "choice", "receipt"}
    assert not [f for f in fields.values() if isinstance(f, (models.DateField, models.DateTimeField))]
    assert [f.related_model for f in fields.values() if f.is_relation] == [Vote]
    assert isinstance(fields["id"], models.UUIDField)  # no sequence to order the rows by
    with connection.cursor() as cursor:
        columns = {c.name for c in connection.introspection.get_table_description(
            cursor, SecretBallot._meta.db_table)}
    assert columns == {"id", "vote_id", "choice", "receipt"}

    vote = make_vote()
    receipt = services.vote_cast(vote=vote, by=personas.resident, choice="for", at=DURING)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {SecretBallot._meta.db_table}")  # noqa: S608 - a fixed table name
        rows = cursor.fetchall()
    assert len(rows) == 1
    assert {str(value) for value in rows[0]} >= {receipt.code, "for"}
    # The audit event of a secret cast says who voted (as the roll does), never the ballot.
    event = AuditEvent.objects.get(action="deliberation.ballot_cast")
    assert event.actor_id == personas.resident.pk
    assert event.after == {"channel": "web", "proxy": None, "entry": None}


def test_secret_ballot_cannot_be_changed_and_counts_once(hood: Neighbourhood, make_vote: MakeVote,
                                                         personas: Personas) -> None:
    vote = make_vote()
    first = services.vote_cast(vote=vote, by=personas.resident, choice="for", at=DURING)
    assert len(first.code) == 19 and first.code.count("-") == 3
    with pytest.raises(voting.AlreadyVoted):
        services.vote_cast(vote=vote, by=personas.resident, choice="against", at=DURING)
    assert SecretBallot.objects.filter(vote=vote).count() == 1
    assert entry_of(vote, personas.resident).voted


def test_closing_rewrites_secret_ballots_in_random_order_keeping_receipts_and_choices(
        hood: Neighbourhood, make_vote: MakeVote, personas: Personas) -> None:
    vote = make_vote()
    for user, choice in zip(hood.voters, ["for", "against", "for", "abstain", "for", "for"], strict=True):
        services.vote_cast(vote=vote, by=user, choice=choice, at=DURING)
    before = set(SecretBallot.objects.values_list("id", "receipt", "choice"))
    close(vote, personas)
    after = set(SecretBallot.objects.values_list("id", "receipt", "choice"))
    assert {(r, c) for _i, r, c in before} == {(r, c) for _i, r, c in after}
    assert not {i for i, _r, _c in before} & {i for i, _r, _c in after}


def test_results_are_hidden_from_everyone_until_close(hood: Neighbourhood, make_vote: MakeVote,
                                                      personas: Personas, admin_user: User) -> None:
    vote = make_vote()
    services.vote_cast(vote=vote, by=personas.resident, choice="for", at=DURING)
    for user in (personas.staff, personas.lead, personas.auditor, admin_user, None):
        with pytest.raises(counting.ResultsHidden):
            services.vote_tally(vote=vote, by=user)
    # Nor can a stale object with a forged status open them.
    vote.status = VoteStatus.CLOSED
    with pytest.raises(counting.ResultsHidden):
        services.vote_tally(vote=vote, by=admin_user)
    vote = close(vote, personas)
    outcome = services.vote_tally(vote=vote, by=personas.staff)
    assert outcome.option("for").headcount == 1


def test_nobody_cuts_a_vote_short(hood: Neighbourhood, make_vote: MakeVote, personas: Personas) -> None:
    vote = make_vote()
    with pytest.raises(ValidationError, match="提前"):
        services.vote_close(vote=vote, by=personas.lead, at=DURING)
    for user in hood.voters:
        services.vote_cast(vote=vote, by=user, choice="for", at=DURING)
    # Everyone has voted: it may close early.
    assert services.vote_close(vote=vote, by=personas.lead, at=DURING).status == VoteStatus.CLOSED


def test_casting_outside_the_window_or_off_the_roll_is_refused(hood: Neighbourhood, make_vote: MakeVote,
                                                               personas: Personas) -> None:
    vote = make_vote()
    with pytest.raises(ValidationError, match="尚未开始"):
        services.vote_cast(vote=vote, by=personas.resident, choice="for", at=OPENS - timedelta(minutes=1))
    with pytest.raises(ValidationError, match="截止"):
        services.vote_cast(vote=vote, by=personas.resident, choice="for", at=CLOSES)
    for user in (personas.outsider, personas.staff, personas.outside_staff):
        with pytest.raises(PermissionDenied):
            services.vote_cast(vote=vote, by=user, choice="for", at=DURING)
    with pytest.raises(ValidationError):
        services.vote_cast(vote=vote, by=personas.resident, choice="maybe", at=DURING)
    assert not VoterRollEntry.objects.filter(vote=vote, voted=True).exists()


# Named votes ----------------------------------------------------------------------------------------

def test_named_ballot_changes_keep_their_history(hood: Neighbourhood, make_vote: MakeVote,
                                                 personas: Personas) -> None:
    vote = make_vote(secret=False)
    first = services.vote_cast(vote=vote, by=personas.resident, choice="for", at=DURING)
    second = services.vote_cast(vote=vote, by=personas.resident, choice="against", at=DURING + timedelta(hours=1))
    assert second.changed and second.code == first.code
    ballot = OpenBallot.objects.get(vote=vote)
    assert ballot.choice == "against" and ballot.revision == 2
    history = list(OpenBallotRevision.objects.filter(ballot=ballot).values_list("revision", "choice"))
    assert history == [(1, "for")]
    assert voting.open_ballot_receipt(vote=vote, user=personas.resident) == first.code
    close(vote, personas)
    assert services.vote_tally(vote=vote, by=personas.lead).option("against").headcount == 1


# Proxies ----------------------------------------------------------------------------------------

def png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(out, "PNG")
    return out.getvalue()


def test_proxy_votes_for_the_principal_once_with_the_authorisation_recorded(
        hood: Neighbourhood, make_vote: MakeVote, personas: Personas) -> None:
    vote = make_vote(secret=False)
    principal = entry_of(vote, personas.resident)
    with pytest.raises(PermissionDenied):  # no authorisation yet
        services.vote_cast(vote=vote, by=personas.other_resident, choice="for", entry=principal, at=DURING)
    with pytest.raises(ValidationError):
        services.proxy_record(vote=vote, principal=principal, by=personas.staff, authorisation_ref=" ",
                              proxy_user=personas.other_resident)
    proxy = services.proxy_record(
        vote=vote, principal=principal, by=personas.staff, authorisation_ref="委托书 2026-017",
        proxy_user=personas.other_resident, authorisation_file=SimpleUploadedFile("a.png", png(), "image/png"),
    )
    assert proxy.authorisation_file.name.endswith(".png") and proxy.proxy_name == str(personas.other_resident)
    services.vote_cast(vote=vote, by=personas.other_resident, choice="for", entry=principal, at=DURING)
    ballot = OpenBallot.objects.get(entry=principal)
    assert ballot.proxy == proxy and ballot.cast_by == personas.other_resident
    # The proxy still votes for themselves; the principal has voted.
    services.vote_cast(vote=vote, by=personas.other_resident, choice="against", at=DURING)
    assert OpenBallot.objects.filter(vote=vote).count() == 2
    with pytest.raises(ValidationError, match="已经投票"):
        services.proxy_record(vote=vote, principal=principal, by=personas.staff, authorisation_ref="x",
                              proxy_name="某人")


def test_a_revoked_proxy_cannot_vote(hood: Neighbourhood, make_vote: MakeVote, personas: Personas) -> None:
    vote = make_vote()
    principal = entry_of(vote, personas.resident)
    proxy = services.proxy_record(vote=vote, principal=principal, by=personas.staff, authorisation_ref="A-1",
                                  proxy_user=personas.other_resident)
    services.proxy_revoke(proxy=proxy, by=personas.staff)
    with pytest.raises(PermissionDenied):
        services.vote_cast(vote=vote, by=personas.other_resident, choice="for", entry=principal, at=DURING)
    # One active authorisation per voter at a time.
    services.proxy_record(vote=vote, principal=principal, by=personas.staff, authorisation_ref="A-2",
                          proxy_name="张阿姨")
    with pytest.raises(ValidationError, match="委托"):
        services.proxy_record(vote=vote, principal=principal, by=personas.staff, authorisation_ref="A-3",
                              proxy_name="李叔叔")


# Paper ballots: two-person control -------------------------------------------------------------------

def test_named_paper_ballot_needs_a_second_person_and_counts_only_when_confirmed(
        hood: Neighbourhood, make_vote: MakeVote, personas: Personas) -> None:
    vote = make_vote(secret=False)
    voter = entry_of(vote, hood.voters[2])
    paper = services.paper_entry_create(vote=vote, by=personas.staff, choice="for", entry=voter, at=DURING)
    with pytest.raises(PermissionDenied, match="另一名"):
        services.paper_entry_confirm(paper=paper, by=personas.staff, at=DURING)
    with pytest.raises(PermissionDenied):
        services.paper_entry_confirm(paper=paper, by=personas.auditor, at=DURING)
    # The database refuses it too, whatever code writes.
    with pytest.raises(IntegrityError), transaction.atomic():
        PaperBallotEntry.objects.filter(pk=paper.pk).update(status=PaperEntryStatus.CONFIRMED,
                                                            decided_by=personas.staff)
    assert not VoterRollEntry.objects.get(pk=voter.pk).voted  # unconfirmed: not counted, no claim

    unconfirmed = services.paper_entry_create(vote=vote, by=personas.staff, choice="against",
                                              entry=entry_of(vote, hood.voters[3]), at=DURING)
    services.paper_entry_confirm(paper=paper, by=personas.lead, at=DURING)
    assert OpenBallot.objects.get(entry=voter).channel == "paper"
    with pytest.raises(ValidationError, match="已经复核"):
        services.paper_entry_confirm(paper=paper, by=personas.lead, at=DURING)

    close(vote, personas)
    outcome = services.vote_tally(vote=vote, by=personas.lead)
    assert outcome.option("for").headcount == 1 and outcome.option("against").headcount == 0
    with pytest.raises(ValidationError, match="待复核"):  # cannot publish with an entry pending
        services.vote_publish(vote=vote, by=personas.lead, at=AFTER)
    services.paper_entry_reject(paper=unconfirmed, by=personas.lead, reason="选票无签名", at=AFTER)
    services.vote_publish(vote=vote, by=personas.lead, at=AFTER)


def test_paper_and_web_cannot_both_count_for_one_voter(hood: Neighbourhood, make_vote: MakeVote,
                                                       personas: Personas) -> None:
    vote = make_vote(secret=False)
    voter = entry_of(vote, personas.resident)
    paper = services.paper_entry_create(vote=vote, by=personas.staff, choice="against", entry=voter, at=DURING)
    services.vote_cast(vote=vote, by=personas.resident, choice="for", at=DURING)  # the web wins the race
    with pytest.raises(voting.AlreadyVoted):
        services.paper_entry_confirm(paper=paper, by=personas.lead, at=DURING)
    assert PaperBallotEntry.objects.get(pk=paper.pk).status == PaperEntryStatus.PENDING  # rolled back
    with pytest.raises(voting.AlreadyVoted):
        services.paper_entry_create(vote=vote, by=personas.staff, choice="against", entry=voter, at=DURING)
    assert OpenBallot.objects.filter(entry=voter).count() == 1


def test_secret_paper_ballots_are_issued_against_the_roll_and_entered_after_close(
        hood: Neighbourhood, make_vote: MakeVote, personas: Personas) -> None:
    vote = make_vote()
    codes = services.vote_paper_codes(vote=vote, by=personas.staff, count=3)
    assert len(set(codes)) == 3
    paper_voter = entry_of(vote, hood.voters[4])
    services.paper_issue(vote=vote, entry=paper_voter, by=personas.staff, at=DURING)
    with pytest.raises(voting.AlreadyVoted):  # the paper was their ballot
        services.vote_cast(vote=vote, by=hood.voters[4], choice="for", at=DURING)
    with pytest.raises(voting.AlreadyVoted):
        services.paper_issue(vote=vote, entry=paper_voter, by=personas.staff, at=DURING)
    with pytest.raises(ValidationError, match="开箱"):
        services.paper_entry_create(vote=vote, by=personas.staff, choice="for", code=codes[0], at=DURING)
    web = services.vote_cast(vote=vote, by=personas.resident, choice="against", at=DURING)
    vote = close(vote, personas)

    with pytest.raises(ValidationError, match="编码"):
        services.paper_entry_create(vote=vote, by=personas.staff, choice="for", code="0000-0000-0000-0000")
    first = services.paper_entry_create(vote=vote, by=personas.staff, choice="for", code=codes[0].lower())
    assert first.entry is None and first.code == codes[0]
    services.paper_entry_confirm(paper=first, by=personas.lead)
    # Only one paper was handed out: a second paper ballot cannot be counted.
    second = services.paper_entry_create(vote=vote, by=personas.staff, choice="for", code=codes[1])
    with pytest.raises(ValidationError, match="不能多于"):
        services.paper_entry_confirm(paper=second, by=personas.lead)
    with pytest.raises(ValidationError, match="已经计入"):
        services.paper_entry_create(vote=vote, by=personas.staff, choice="for", code=codes[0])
    services.paper_entry_reject(paper=PaperBallotEntry.objects.get(pk=second.pk), by=personas.lead,
                                reason="多出的选票")
    result = services.vote_publish(vote=vote, by=personas.lead, at=AFTER)
    lines = {line["receipt"]: line["choice"] for line in json.loads(result.document)["ballots"]}
    assert lines == {web.code: "against", codes[0]: "for"}


# Publication and verification ------------------------------------------------------------------------

def test_publish_freezes_the_result_and_writes_its_hash_into_the_audit_chain(
        hood: Neighbourhood, make_vote: MakeVote, personas: Personas, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    vote = make_vote(question_kind="single", options=["东侧空地", "西侧车棚", "不增设"], rule="simple_majority")
    receipts = {}
    for user, choice in zip(hood.voters, ["1", "2", "1", "1", "3", None], strict=True):
        receipts[user.pk] = (services.vote_cast(vote=vote, by=user, choice=choice, at=DURING).code, choice)
    with pytest.raises(ValidationError):  # not closed
        services.vote_publish(vote=vote, by=personas.lead, at=DURING)
    close(vote, personas)
    with pytest.raises(PermissionDenied):
        services.vote_publish(vote=vote, by=personas.staff, at=AFTER)
    result = services.vote_publish(vote=vote, by=personas.lead, at=AFTER)

    document = json.loads(result.document)
    assert result.sha256 == published.sha256_hex(result.document.encode("utf-8"))
    assert document["outcome"]["winners"] == ["1"] and document["outcome"]["participants"] == 6
    # Each voter finds their receipt with their choice; no name appears anywhere.
    listed = {line["receipt"]: line["choice"] for line in document["ballots"]}
    for code, choice in receipts.values():
        assert listed[code] == (choice or rules.BLANK)
    for resident in hood.adults:
        assert resident.name not in result.document
    assert any("简单多数" in line for line in document["explanation"])

    event = AuditEvent.objects.get(seq=result.audit_seq)
    assert event.action == "deliberation.vote_published" and event.after["sha256"] == result.sha256
    assert audit_verify()[1] == []
    call_command("audit", "verify")
    assert "audit chain OK" in capsys.readouterr().out

    with pytest.raises(RuntimeError):
        result.save()
    with pytest.raises(RuntimeError):
        result.delete()
    with pytest.raises(ValidationError):
        services.vote_publish(vote=vote, by=personas.lead, at=AFTER)

    # The downloaded file verifies from itself alone, and against the database.
    path = tmp_path / "result.json"
    path.write_bytes(result.document.encode("utf-8"))
    call_command("vote", "verify", str(path), "--sha256", result.sha256)
    out = capsys.readouterr().out
    assert "核验通过" in out and result.sha256 in out
    call_command("vote", "verify", "--id", str(vote.pk))
    assert "核验通过" in capsys.readouterr().out


def _published(hood: Neighbourhood, make_vote: MakeVote, personas: Personas) -> tuple[Vote, PublishedResult]:
    vote = make_vote()
    for user, choice in zip(hood.voters, ["for", "for", "against", "for", "abstain", "against"], strict=True):
        services.vote_cast(vote=vote, by=user, choice=choice, at=DURING)
    close(vote, personas)
    return vote, services.vote_publish(vote=vote, by=personas.lead, at=AFTER)


def test_verify_detects_a_tampered_result_file(hood: Neighbourhood, make_vote: MakeVote, personas: Personas,
                                               tmp_path: Path) -> None:
    _vote, result = _published(hood, make_vote, personas)
    document = json.loads(result.document)
    assert document["outcome"]["passed"] is True  # 3 for, 2 against

    # One ballot turned from "for" to "against": the recount no longer gives the stated result.
    forged = json.loads(result.document)
    line = next(b for b in forged["ballots"] if b["choice"] == "for")
    line["choice"] = "against"
    path = tmp_path / "forged.json"
    path.write_bytes(published.canonical_bytes(forged))
    with pytest.raises(CommandError):
        call_command("vote", "verify", str(path))
    assert not published.verify_bytes(path.read_bytes()).ok

    # A consistent forgery (ballot and stated outcome both changed) recounts fine, but
    # its hash is not the published one.
    forged["outcome"] = published.recompute(forged).as_dict()
    path.write_bytes(published.canonical_bytes(forged))
    assert published.verify_bytes(path.read_bytes()).ok
    with pytest.raises(CommandError):
        call_command("vote", "verify", str(path), "--sha256", result.sha256)

    # A duplicated receipt, or a ballot the question does not allow, is reported.
    forged = json.loads(result.document)
    forged["ballots"].append(dict(forged["ballots"][0]))
    assert any("重复" in p for p in published.verify_document(forged).problems)
    forged = json.loads(result.document)
    forged["ballots"][0]["choice"] = "maybe"
    assert not published.verify_document(forged).ok
    assert not published.verify_bytes(b"not json").ok


def test_verify_by_id_detects_a_changed_ballot_in_the_database(hood: Neighbourhood, make_vote: MakeVote,
                                                               personas: Personas) -> None:
    vote, result = _published(hood, make_vote, personas)
    assert counting.vote_verify(vote=vote).ok
    ballot = SecretBallot.objects.filter(vote=vote, choice="against").first()
    assert ballot is not None
    SecretBallot.objects.filter(pk=ballot.pk).update(choice="for")
    report = counting.vote_verify(vote=vote)
    assert not report.ok and any("数据库" in p for p in report.problems)
    with pytest.raises(CommandError):
        call_command("vote", "verify", "--id", str(vote.pk))
    # The stored document itself edited behind the chain's back.
    SecretBallot.objects.filter(pk=ballot.pk).update(choice="against")
    PublishedResult.objects.filter(pk=result.pk).update(document=result.document.replace('"passed":true', '"passed":false', 1))
    assert not counting.vote_verify(vote=vote).ok


def test_verify_by_id_detects_a_ballot_slipped_into_the_table(hood: Neighbourhood, make_vote: MakeVote,
                                                               personas: Personas) -> None:
    vote = make_vote()
    services.vote_cast(vote=vote, by=personas.resident, choice="against", at=DURING)
    vote = close(vote, personas)
    # Someone with database access adds a ballot before publication: the document and
    # the table agree, but no cast in the audit chain made it.
    SecretBallot.objects.create(vote=vote, choice="for", receipt=voting.new_receipt())
    services.vote_publish(vote=vote, by=personas.lead, at=AFTER)
    report = counting.vote_verify(vote=vote)
    assert not report.ok
    assert report.problems == ["数据库中有 2 张选票，审计链中记录的投票只有 1 次。"]


def test_decision_records_the_published_result(hood: Neighbourhood, make_vote: MakeVote, personas: Personas) -> None:
    vote, result = _published(hood, make_vote, personas)
    decision = services.decision_record(by=personas.staff, title="增设充电桩", text="在东侧空地增设 10 个充电桩。",
                                        vote=vote)
    assert decision.result is not None and decision.result["passed"] is True
    assert decision.result_sha256 == result.sha256
    with pytest.raises(ValidationError):
        services.decision_record(by=personas.staff, title="again", text="again", vote=vote)


# Owners' votes (Art. 278) ------------------------------------------------------------------------------

def test_owners_vote_by_area_and_headcount(hood: Neighbourhood, make_vote: MakeVote, tree: Tree,
                                           personas: Personas) -> None:
    roll = import_roll(tree, personas, [
        ["房屋", "业主", "面积", "未售"],
        ["1-101", "王秀英", "100", ""], ["1-102", "王秀英", "50", ""],  # one owner, 150 m²
        ["1-201", "李建国", "100", ""],
        ["1-301", "赵敏", "100", ""],
        ["1-401", "", "150", "是"], ["1-402", "", "50", "是"],  # the developer: one owner, 200 m²
    ])
    owners = {o.name: o for o in Owner.objects.filter(roll=roll)}
    services.owner_link(owner=owners["王秀英"], by=personas.staff, user=personas.resident)
    services.owner_link(owner=owners["李建国"], by=personas.staff, user=personas.other_resident)
    vote = make_vote(eligibility="owners", owner_roll=roll, rule="civil_code_special", secret=False,
                     title="使用专项维修资金更换电梯")
    assert vote.roll_headcount == 4 and vote.roll_area == rules.parse_area("550")
    services.vote_cast(vote=vote, by=personas.resident, choice="for", at=DURING)
    services.vote_cast(vote=vote, by=personas.other_resident, choice="for", at=DURING)
    developer = VoterRollEntry.objects.get(vote=vote, owner=owners["建设单位（未售出房屋）"])
    paper = services.paper_entry_create(vote=vote, by=personas.staff, choice="for", entry=developer, at=DURING)
    services.paper_entry_confirm(paper=paper, by=personas.lead, at=DURING)
    close(vote, personas)
    outcome = services.vote_tally(vote=vote, by=personas.lead)
    # 3 of 4 owners (≥ 2/3) with 450 of 550 m² (≥ 2/3) took part; all for: passes.
    assert outcome.passed
    participation = {c.key: c for c in outcome.checks}
    assert participation["participation_headcount"].share == Fraction(3, 4)
    assert participation["participation_area"].share == Fraction(450, 550)
    result = services.vote_publish(vote=vote, by=personas.lead, at=AFTER)
    document = json.loads(result.document)
    assert sorted(b["area"] for b in document["ballots"]) == ["100.00", "150.00", "200.00"]
    assert published.verify_document(document).ok


def test_residents_meeting_vote_counts_those_signed_in_as_present(hood: Neighbourhood, make_vote: MakeVote,
                                                                  tree: Tree, personas: Personas) -> None:
    meeting = services.meeting_create(by=personas.staff, place=tree.community, kind="residents_meeting",
                                      title="居民会议", starts_at=OPENS, ends_at=CLOSES)
    for resident in hood.adults[:4]:
        services.meeting_sign_in(meeting=meeting, by=personas.staff, resident=resident, at=OPENS)
    vote = make_vote(rule="residents_meeting", meeting=meeting)
    services.vote_cast(vote=vote, by=hood.voters[0], choice="for", at=DURING)
    services.vote_cast(vote=vote, by=hood.voters[1], choice="for", at=DURING)
    close(vote, personas)
    outcome = services.vote_tally(vote=vote, by=personas.lead)
    # 4 of 6 present (quorum); 2 for of 4 present is not more than half.
    assert outcome.present == 4
    assert outcome.conditions_met and not outcome.passed


# Reminders ------------------------------------------------------------------------------------------

def test_reminders_go_to_those_who_have_not_voted_once_per_interval(hood: Neighbourhood, make_vote: MakeVote,
                                                                    personas: Personas) -> None:
    names = {job.name for job in registered_jobs()}
    assert {"deliberation.remind_voters", "deliberation.close_due_votes"} <= names
    vote = make_vote()
    services.vote_cast(vote=vote, by=personas.resident, choice="for", at=DURING)
    Notification.objects.all().delete()
    assert counting.votes_remind_due(at=DURING) == {"votes": 1, "reminded": len(hood.voters) - 1}
    reminded = set(Notification.objects.values_list("user_id", flat=True))
    assert reminded == {u.pk for u in hood.voters[1:]}
    assert counting.votes_remind_due(at=DURING + timedelta(hours=2))["votes"] == 0  # within 24 h
    DeliberationConfig.objects.create(place=None, reminder_hours=0)
    assert counting.votes_remind_due(at=DURING + timedelta(days=2))["votes"] == 0  # turned off


def test_due_votes_close_by_themselves(hood: Neighbourhood, make_vote: MakeVote) -> None:
    vote = make_vote()
    assert counting.votes_close_due(at=DURING) == 0
    assert counting.votes_close_due(at=AFTER) == 1
    vote.refresh_from_db()
    assert vote.status == VoteStatus.CLOSED
