"""The worker's recurring jobs for votes: close those whose time is up, and remind the
eligible voters who have not voted (for secret votes the roll's ``voted`` flag says who
has voted, never how)."""

from __future__ import annotations

from datetime import timedelta

from django.tasks import task

from linli.core.jobs import recurring
from linli.deliberation.counting import votes_close_due, votes_remind_due


@recurring(every=timedelta(minutes=5), name="deliberation.close_due_votes")
@task()
def close_due_votes() -> int:
    return votes_close_due()


@recurring(every=timedelta(hours=1), name="deliberation.remind_voters")
@task()
def remind_voters() -> dict[str, int]:
    """Hourly; each vote is reminded at its community's interval (24 h by default)."""
    return votes_remind_due()
