"""An append-only, hash-chained event log.

Each event's hash covers its own content and the previous event's hash, and the
single ``AuditHead`` row remembers the last sequence number and hash, so an
altered, removed or truncated entry breaks the chain where it happened.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(RuntimeError):
    pass


class AuditEvent(models.Model):
    seq = models.BigIntegerField(_("序号"), unique=True)
    at = models.DateTimeField(_("时间"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING, related_name="+",
        verbose_name=_("操作人"), db_constraint=False,
    )
    # No cascade and no constraint: removing a user must not rewrite history (the
    # chain would break); the label keeps who it was.
    actor_label = models.CharField(_("操作人"), max_length=150, blank=True)
    action = models.CharField(_("动作"), max_length=80, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=80, blank=True)
    object_id = models.CharField(_("对象"), max_length=64, blank=True)
    community_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    before = models.JSONField(_("之前"), null=True, blank=True)
    after = models.JSONField(_("之后"), null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("审计事件")
        verbose_name_plural = _("审计事件")
        ordering = ["seq"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit events are append-only")


class AuditHead(models.Model):
    """The single row that serialises appends and remembers the chain's end."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        verbose_name = _("审计链头")
        verbose_name_plural = _("审计链头")
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_head_single_row")]

    def __str__(self) -> str:
        return f"head #{self.last_seq}"
