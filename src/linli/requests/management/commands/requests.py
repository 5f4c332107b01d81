"""`linli requests`: operator tools for residents' requests.

    linli requests rebuild-rollups [--community CODE ...]
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from linli.places.models import Place, PlaceKind
from linli.requests.rollup_rebuild import rollups_rebuild


class Command(BaseCommand):
    help = ("Residents' requests: `rebuild-rollups [--community CODE ...]` recomputes the counts behind the "
            "three rates from the requests themselves (all communities unless some are named).")

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        rebuild = sub.add_parser(
            "rebuild-rollups",
            help="Recompute the request rollups (the counts dashboards read) from the requests and their history.",
        )
        rebuild.add_argument("--community", action="append", default=[], metavar="CODE",
                             help="only this community (by place code); may be given more than once")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "rebuild-rollups":
            self._rebuild(options["community"])

    def _rebuild(self, codes: list[str]) -> None:
        community_ids = None
        if codes:
            found = {code: (pk, kind) for pk, code, kind in
                     Place.objects.filter(code__in=codes).values_list("pk", "code", "kind")}
            for code in codes:
                if code not in found:
                    raise CommandError(_("找不到编码为 %(code)s 的地点。") % {"code": code})
                if found[code][1] != PlaceKind.COMMUNITY:
                    raise CommandError(_("%(code)s 不是社区：统计按社区重建。") % {"code": code})
            community_ids = [pk for pk, _kind in found.values()]
        result = rollups_rebuild(community_ids=community_ids)
        self.stdout.write(_("已重建 %(rows)d 行统计（%(requests)d 条诉求，其中 %(replayed)d 条按办理记录回放），用时 %(seconds).1f 秒。") % {
            "rows": result.rows, "requests": result.requests, "replayed": result.replayed, "seconds": result.seconds,
        })
