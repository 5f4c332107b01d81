"""`linli calendar`: the working calendar that request deadlines are counted on.

    linli calendar show 2026 [--community CODE]
    linli calendar sync 2026
    linli calendar load 2027.csv [--community CODE] [--replace-year 2027]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.places.models import Place, PlaceKind
from linli.requests.calendar import DEFAULT_WINDOWS, parse_windows
from linli.requests.calendar_admin import (
    calendar_csv_parse,
    calendar_year_load,
    calendar_year_sync,
    effective_days,
    library_knows,
)
from linli.requests.models import DayKind, WorkingHours

# A calendar file is a few kilobytes; refuse anything that cannot be one.
MAX_FILE_BYTES = 256 * 1024
WEEKDAYS = (gettext_lazy("周一"), gettext_lazy("周二"), gettext_lazy("周三"), gettext_lazy("周四"),
            gettext_lazy("周五"), gettext_lazy("周六"), gettext_lazy("周日"))


def _year(value: str) -> int:
    try:
        year = int(value)
    except ValueError:
        raise CommandError(_("年份应为数字，如 2027。")) from None
    if not 2000 <= year <= 2100:
        raise CommandError(_("年份应在 2000–2100 之间。"))
    return year


def _community(code: str | None) -> Place | None:
    if not code:
        return None
    place = Place.objects.filter(code=code).first()
    if place is None:
        raise CommandError(_("找不到编码为 %(code)s 的地点。") % {"code": code})
    if place.kind != PlaceKind.COMMUNITY:
        raise CommandError(_("%(code)s 不是社区：节假日和工作时间只能按社区单独设置。") % {"code": code})
    return place


def _messages(exc: ValidationError) -> str:
    return "；".join(exc.messages)


class Command(BaseCommand):
    help = ("The working calendar for request deadlines: `show YEAR`, `sync YEAR` (copy the holiday library "
            "into editable national rows), `load FILE.csv` (date,kind,name).")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        show = sub.add_parser("show", help="List the holidays and adjusted working days in effect, with their source.")
        show.add_argument("year")
        show.add_argument("--community", help="code of a community: show its own days over the national ones")
        sync = sub.add_parser("sync", help="Copy the library's schedule of YEAR into national rows (idempotent).")
        sync.add_argument("year")
        load = sub.add_parser("load", help="Load days from a CSV file: date,kind,name (kind holiday/workday or 放假/上班).")
        load.add_argument("file")
        load.add_argument("--community", help="code of the community the days are for (default: national)")
        load.add_argument("--replace-year", dest="replace_year",
                          help="the file is that year's whole schedule: rows of that year not in it are removed")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "show":
            self._show(_year(options["year"]), _community(options.get("community")))
        elif action == "sync":
            self._sync(_year(options["year"]))
        else:
            replace = options.get("replace_year")
            self._load(Path(options["file"]), _community(options.get("community")),
                       _year(replace) if replace else None)

    # show ------------------------------------------------------------------------------
    def _show(self, year: int, community: Place | None) -> None:
        kinds: dict[str, str] = {DayKind.HOLIDAY: _("放假"), DayKind.WORKDAY: _("上班")}
        sources = {"library": _("节假日库"), "national": _("全国（管理员维护）"), "community": _("本社区")}
        days = effective_days(year, community=community)
        scope = community.name if community else _("全国")
        self.stdout.write(_("%(year)d 年生效的节假日与调休（%(scope)s）：") % {"year": year, "scope": scope})
        if not days:
            self.stdout.write(_("  没有任何记录：节假日库不含该年，也没有导入的安排。此时只按每周工作时段计算"
                                "（周末休息，法定节假日不会被跳过）。国务院公布安排后，请用 "
                                "linli calendar load 导入。"))
        for day, kind, name, source in days:
            self.stdout.write(f"  {day.isoformat()} {WEEKDAYS[day.weekday()]}  {kinds[kind]}  {name or '—'}"
                              f"  ·  {sources[source]}")
        holidays = sum(1 for row in days if row[1] == DayKind.HOLIDAY)
        self.stdout.write(_("合计：放假 %(h)d 天，调休上班 %(w)d 天。") % {"h": holidays, "w": len(days) - holidays})
        if days and not library_knows(year):
            self.stdout.write(_("注意：节假日库不含 %(year)d 年，以上全部来自导入的记录。") % {"year": year})
        self._show_hours(community)

    def _show_hours(self, community: Place | None) -> None:
        rows = {wh.place_id: wh for wh in WorkingHours.objects.filter(place__isnull=True)}
        if community is not None:
            rows.update({wh.place_id: wh for wh in WorkingHours.objects.filter(place=community)})
        chosen = (rows.get(community.pk) if community else None) or rows.get(None)
        if chosen is None:
            label, windows = _("内置默认"), parse_windows(DEFAULT_WINDOWS)
        else:
            label = _("本社区") if chosen.place_id else _("默认（管理员设置）")
            windows = parse_windows(chosen.windows)
        self.stdout.write(_("每周工作时段（%(source)s）：") % {"source": label})
        for weekday, spans in sorted(windows.items()):
            text = "，".join(f"{start:%H:%M}–{end:%H:%M}" for start, end in spans) or _("休息")
            self.stdout.write(f"  {WEEKDAYS[weekday]} {text}")

    # sync ------------------------------------------------------------------------------
    def _sync(self, year: int) -> None:
        try:
            result = calendar_year_sync(year=year)
        except ValidationError as exc:
            raise CommandError(_messages(exc)) from exc
        self.stdout.write(_("%(year)d 年：新增 %(added)d 条，已有且一致 %(same)d 条。")
                          % {"year": year, "added": result.added, "same": result.same})
        for row in result.kept:
            self.stdout.write(_("  保留管理员的更正：%(day)s %(kind)s（与节假日库不同）")
                              % {"day": row.date.isoformat(), "kind": row.get_kind_display()})

    # load ------------------------------------------------------------------------------
    def _load(self, path: Path, community: Place | None, replace_year: int | None) -> None:
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise CommandError(_("文件过大：节假日安排的 CSV 不应超过 256 KB。"))
            content = path.read_bytes()
        except OSError as exc:
            raise CommandError(_("无法读取文件：%(error)s") % {"error": exc.strerror or exc}) from exc
        rows, errors = calendar_csv_parse(content, year=replace_year)
        for error in errors:
            self.stderr.write(str(error))
        if errors:
            raise CommandError(_("%(n)d 行有错误，未写入任何记录。") % {"n": len(errors)})
        try:
            result = calendar_year_load(rows=rows, place=community, replace_year=replace_year,
                                        source=f"file:{path.name}")
        except ValidationError as exc:
            raise CommandError(_messages(exc)) from exc
        scope = community.name if community else _("全国")
        self.stdout.write(_("已导入（%(scope)s）：新增 %(added)d，更新 %(updated)d，未变 %(unchanged)d，删除 %(removed)d。")
                          % {"scope": scope, "added": result.added, "updated": result.updated,
                             "unchanged": result.unchanged, "removed": result.removed})
