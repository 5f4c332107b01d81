"""Reading the inbox."""

from __future__ import annotations

from django.db.models import QuerySet

from linli.accounts.models import User
from linli.notifications.models import Notification


def inbox(user: User, *, unread_only: bool = False) -> QuerySet[Notification]:
    """``user``'s notices, newest first (the ``notification_inbox`` index serves both)."""
    rows = Notification.objects.filter(user=user)
    if unread_only:
        rows = rows.filter(read_at__isnull=True)
    return rows.order_by("-created_at", "-id")


def unread_count(user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
