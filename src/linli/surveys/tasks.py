"""The worker's recurring jobs for surveys: reminding invitees who have not answered,
and unlinking answers from people when a questionnaire's retention period runs out."""

from __future__ import annotations

from datetime import timedelta

from django.tasks import task

from linli.core.jobs import recurring
from linli.surveys.distribution import invitations_remind
from linli.surveys.services import questionnaires_purge_expired


@recurring(every=timedelta(hours=6), name="surveys.remind")
@task()
def remind_invitees() -> int:
    """Safe to run at any time and as often as wanted: the service sends a reminder only
    when one is due, so a repeated run sends nothing new."""
    return invitations_remind()


@recurring(every=timedelta(days=1), name="surveys.purge_expired")
@task()
def purge_expired() -> int:
    return questionnaires_purge_expired()
