"""The published result document and its verification, from the document alone.

The document is JSON in one canonical form (UTF-8, keys sorted, no spaces), so its
SHA-256 is well defined: the hash written into the audit chain at publication is the
hash of exactly the bytes anyone downloads. It holds the question, the body (how many
may vote and their area), every counted ballot as "receipt → choice" (with headcount
and area when the vote is weighted; never a name), the outcome the rule gave and an
explanation in words. ``verify_document`` recounts the ballots with the rule and
compares the outcome it gets with the one the document states.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from linli.deliberation import rules

FORMAT = "linli-vote-result/1"


@dataclass(frozen=True)
class BallotLine:
    receipt: str
    choice: str
    headcount: int = 1
    area: int = 0


def canonical_bytes(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_document(
    *, vote: Mapping[str, Any], question: rules.Question, labels: Mapping[str, str], body: rules.Body,
    ballots: Sequence[BallotLine], outcome: rules.Outcome, weighted: bool, published_at: str,
) -> dict[str, Any]:
    """``vote``: id, title, community, place, secret, eligibility, rule, opens_at, closes_at, closed_at."""
    options = [{"key": key, "label": labels.get(key, key)} for key in question.keys]
    lines: list[dict[str, Any]] = []
    for ballot in sorted(ballots, key=lambda b: b.receipt):
        line: dict[str, Any] = {"receipt": ballot.receipt, "choice": ballot.choice}
        if weighted:
            line["headcount"] = ballot.headcount
            line["area"] = rules.format_area(ballot.area)
        lines.append(line)
    return {
        "format": FORMAT,
        "vote": dict(vote),
        "question": {"kind": question.kind, "options": options, "min_choices": question.min_choices,
                     "max_choices": question.max_choices, "seats": question.seats},
        "body": {"headcount": body.headcount, "area": rules.format_area(body.area), "present": body.present,
                 "weighted": weighted},
        "ballots": lines,
        "outcome": outcome.as_dict(),
        "explanation": rules.explain(outcome, labels),
        "published_at": published_at,
    }


def _question(document: Mapping[str, Any]) -> rules.Question:
    data = document["question"]
    kind = str(data["kind"])
    options = tuple(str(o["key"]) for o in data["options"]) if kind != rules.YES_NO else ()
    return rules.Question(kind=kind, options=options, min_choices=int(data["min_choices"]),
                          max_choices=int(data["max_choices"]), seats=int(data["seats"]))


def ballot_lines(document: Mapping[str, Any]) -> list[BallotLine]:
    weighted = bool(document["body"].get("weighted"))
    lines = []
    for item in document["ballots"]:
        if weighted:
            lines.append(BallotLine(str(item["receipt"]), str(item["choice"]), int(item["headcount"]),
                                    rules.parse_area(item["area"])))
        else:
            lines.append(BallotLine(str(item["receipt"]), str(item["choice"])))
    return lines


def recompute(document: Mapping[str, Any]) -> rules.Outcome:
    """Count the document's ballots with its rule, from nothing else."""
    question = _question(document)
    body_data = document["body"]
    present = body_data.get("present")
    body = rules.Body(headcount=int(body_data["headcount"]), area=rules.parse_area(body_data["area"]),
                      present=int(present) if present is not None else None)
    groups = rules.count_ballots(question, ((b.choice, b.headcount, b.area) for b in ballot_lines(document)))
    return rules.decide(rule=str(document["vote"]["rule"]), question=question, body=body, groups=groups)


@dataclass
class Verification:
    ok: bool
    sha256: str
    ballots: int = 0
    problems: list[str] = field(default_factory=list)
    outcome: rules.Outcome | None = None


def _differences(stated: Mapping[str, Any], recounted: Mapping[str, Any]) -> list[str]:
    keys = sorted(set(stated) | set(recounted))
    return [key for key in keys if stated.get(key) != recounted.get(key)]


def verify_bytes(data: bytes) -> Verification:
    """Verify a downloaded result file: well-formed, every ballot valid and its receipt
    unique, and the outcome recounted from the ballots equal to the outcome stated."""
    digest = sha256_hex(data)
    result = Verification(ok=False, sha256=digest)
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        result.problems.append(_("文件不是有效的 JSON（UTF-8）。"))
        return result
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        result.problems.append(_("不是本系统公布的表决结果文件（format 不符）。"))
        return result
    return verify_document(document, digest=digest)


def verify_document(document: Mapping[str, Any], *, digest: str = "") -> Verification:
    result = Verification(ok=False, sha256=digest or sha256_hex(canonical_bytes(document)))
    try:
        lines = ballot_lines(document)
        result.ballots = len(lines)
        receipts = [line.receipt for line in lines]
        if len(set(receipts)) != len(receipts):
            result.problems.append(_("有重复的回执码。"))
        outcome = recompute(document)
    except (KeyError, TypeError, ValueError) as exc:  # ChoiceError is a ValueError
        result.problems.append(_("无法按文件重新计票：%(e)s") % {"e": exc})
        return result
    result.outcome = outcome
    stated = document.get("outcome")
    recounted = outcome.as_dict()
    if not isinstance(stated, Mapping):
        result.problems.append(_("文件中没有表决结果。"))
    else:
        for key in _differences(stated, recounted):
            result.problems.append(_("重新计票的“%(k)s”与文件所载不一致。") % {"k": key})
    result.ok = not result.problems
    return result
