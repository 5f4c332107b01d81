"""`linli vote verify FILE` recounts a downloaded result file from the file alone;
`linli vote verify --id N` checks a published vote against the database and the audit
chain. Exit status 0 when everything matches, 1 (CommandError) otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from linli.deliberation import published, rules
from linli.deliberation.models import Vote


class Command(BaseCommand):
    help = ("Votes. `linli vote verify FILE` recomputes the outcome from a published result file; "
            "`linli vote verify --id N` checks vote N against the database and the audit chain.")

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser("verify", help="recount a published result")
        verify.add_argument("file", nargs="?", help="the downloaded result file (JSON)")
        verify.add_argument("--id", type=int, dest="vote_id", help="check this vote against the database")
        verify.add_argument("--sha256", help="the published hash the file must have (from the public page)")

    def handle(self, *args: Any, action: str, file: str | None = None, vote_id: int | None = None,
               sha256: str | None = None, **options: Any) -> None:
        if file is None and vote_id is None:
            raise CommandError(_("请给出结果文件，或用 --id 指定表决。"))
        failed = False
        if file is not None:
            failed |= not self._verify_file(Path(file), sha256)
        if vote_id is not None:
            failed |= not self._verify_database(vote_id)
        if failed:
            raise CommandError(_("核验未通过。"))

    def _outcome_lines(self, outcome: rules.Outcome) -> None:
        self.stdout.write(_("  参与表决：%(n)d 人") % {"n": outcome.participants})
        self.stdout.write(_("  结果：%(r)s") % {"r": _("通过/有选项胜出") if outcome.passed else _("未通过/无选项胜出")}
                          + (f"（{'、'.join(outcome.winners)}）" if outcome.winners else ""))

    def _verify_file(self, path: Path, expected: str | None) -> bool:
        try:
            data = path.read_bytes()
        except OSError as exc:
            self.stderr.write(_("无法读取文件：%(e)s") % {"e": exc})
            return False
        result = published.verify_bytes(data)
        self.stdout.write(_("文件 %(f)s 的 SHA-256：%(h)s") % {"f": path.name, "h": result.sha256})
        ok = result.ok
        if expected is not None and expected.strip().lower() != result.sha256:
            self.stderr.write(_("哈希值与公布的不一致：文件被改动过，或不是公布的那一份。"))
            ok = False
        for problem in result.problems:
            self.stderr.write("  " + problem)
        if result.ok and result.outcome is not None:
            self.stdout.write(_("按文件中的 %(n)d 张选票重新计票，结果与文件所载一致。") % {"n": result.ballots})
            self._outcome_lines(result.outcome)
        self.stdout.write(_("核验通过") if ok else _("核验未通过"))
        return ok

    def _verify_database(self, vote_id: int) -> bool:
        from linli.deliberation.counting import vote_verify

        vote = Vote.objects.filter(pk=vote_id).first()
        if vote is None:
            self.stderr.write(_("没有编号为 %(n)d 的表决。") % {"n": vote_id})
            return False
        result = vote_verify(vote=vote)
        self.stdout.write(_("表决 #%(n)d “%(t)s”，结果文件 SHA-256：%(h)s") % {
            "n": vote.pk, "t": vote.title, "h": result.sha256 or "-"})
        for problem in result.problems:
            self.stderr.write("  " + problem)
        if result.ok and result.document is not None and result.document.outcome is not None:
            self.stdout.write(_("数据库中的选票、审计链中的哈希值与公布的结果文件一致，重新计票结果相同。"))
            self._outcome_lines(result.document.outcome)
        self.stdout.write(_("核验通过") if result.ok else _("核验未通过"))
        return result.ok
