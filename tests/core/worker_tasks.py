"""A task for the end-to-end worker test: it leaves a file behind when it has run."""

from __future__ import annotations

from pathlib import Path

from django.tasks import task


@task()
def leave_mark(path: str, text: str) -> str:
    Path(path).write_text(text, encoding="utf-8")
    return text
