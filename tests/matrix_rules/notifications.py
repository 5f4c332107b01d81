"""Matrix rows of the notifications app (``linli.notifications``): everyone signed in has
an inbox of their own; nobody reaches anyone else's (the 404 for another person's notice
is in tests/notifications/test_inbox.py, since the id travels in the form body)."""

from __future__ import annotations

from tests.matrix_base import Rule, signed_in

RULES: dict[str, Rule] = {
    "notifications:inbox": Rule(expect=signed_in()),
    # An empty body: a 400 that got past access control.
    "notifications:mark_read": Rule(method="post", expect=signed_in()),
    "notifications:mark_all_read": Rule(method="post", expect=signed_in()),
}
