"""Democratic decisions (DOMAIN §2): proposals, meetings, votes and their ballots, the
owners' roll, decisions and the actions that carry them out.

Split by meaning: ``common`` (roles, configuration), ``proposals``, ``meetings``,
``owners`` (the property register), ``votes`` (rolls, ballots, paper, proxies, the
published result) and ``decisions`` (decisions → actions).
"""

from linli.deliberation.models.common import (
    DELIBERATION_MANAGE_ROLES,
    DELIBERATION_VIEW_ROLES,
    DELIBERATION_WORK_ROLES,
    VOTE_RUN_ROLES,
    DeliberationConfig,
)
from linli.deliberation.models.decisions import (
    Action,
    ActionPhoto,
    ActionStatus,
    ActionUpdate,
    Decision,
)
from linli.deliberation.models.meetings import (
    AgendaItem,
    AgendaKind,
    Attendance,
    BodyKind,
    Meeting,
    MeetingComment,
    MeetingKind,
    MeetingMember,
    MeetingStatus,
    PollAnswer,
    TimeOption,
    TimePollAnswer,
)
from linli.deliberation.models.owners import DEVELOPER_KEY, Owner, OwnerRoll, OwnerUnit
from linli.deliberation.models.proposals import Proposal, ProposalStatus, ProposalSupport
from linli.deliberation.models.votes import (
    BallotChannel,
    Eligibility,
    OpenBallot,
    OpenBallotRevision,
    OutcomeRule,
    PaperBallotEntry,
    PaperCode,
    PaperEntryStatus,
    Proxy,
    PublishedResult,
    QuestionKind,
    SecretBallot,
    Vote,
    VoteOption,
    VoterRollEntry,
    VoteStatus,
)

__all__ = [
    "DELIBERATION_MANAGE_ROLES", "DELIBERATION_VIEW_ROLES", "DELIBERATION_WORK_ROLES", "DEVELOPER_KEY",
    "VOTE_RUN_ROLES", "Action", "ActionPhoto", "ActionStatus", "ActionUpdate", "AgendaItem", "AgendaKind",
    "Attendance", "BallotChannel", "BodyKind", "Decision", "DeliberationConfig", "Eligibility", "Meeting",
    "MeetingComment", "MeetingKind", "MeetingMember", "MeetingStatus", "OpenBallot", "OpenBallotRevision",
    "OutcomeRule", "Owner", "OwnerRoll", "OwnerUnit", "PaperBallotEntry", "PaperCode", "PaperEntryStatus",
    "PollAnswer", "Proposal", "ProposalStatus", "ProposalSupport", "Proxy", "PublishedResult", "QuestionKind",
    "SecretBallot", "TimeOption", "TimePollAnswer", "Vote", "VoteOption", "VoteStatus", "VoterRollEntry",
]
