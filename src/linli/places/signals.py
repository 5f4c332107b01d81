"""Signals other apps listen to, so the place tree needs to know nothing about them."""

from django.dispatch import Signal

# Sent inside place_move's transaction with ``old_path`` and ``new_path``: records that
# keep a copy of a node's path (for join-free scope filters) rewrite their prefix.
place_moved = Signal()

# Sent after place_deactivate or place_activate has written (``place``): copies of places
# kept in a process (Open311's codes, verified API keys) are dropped.
place_switched = Signal()
