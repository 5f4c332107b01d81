from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from linli.places.importer import UploadError, import_file
from linli.places.models import Place


class Command(BaseCommand):
    help = "The place tree: `import FILE [--under CODE] [--dry-run]` reads an .xlsx or .csv file."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="Import places from .xlsx or .csv (columns 编码, 上级编码, 类型, 名称, 规划户数).")
        imp.add_argument("file")
        imp.add_argument("--under", help="code of the existing place the file's top rows hang below")
        imp.add_argument("--dry-run", action="store_true", help="check the file, change nothing")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        path = Path(options["file"])
        under = None
        if options.get("under"):
            under = Place.objects.filter(code=options["under"]).first()
            if under is None:
                raise CommandError(_("找不到编码为 %(code)s 的地点。") % {"code": options["under"]})
        try:
            with path.open("rb") as stream:
                report = import_file(path.name, stream, size=path.stat().st_size, under=under,
                                     dry_run=options["dry_run"])
        except OSError as exc:
            raise CommandError(str(exc)) from exc
        except UploadError as exc:
            raise CommandError(exc.message) from exc
        except ValidationError as exc:
            raise CommandError("；".join(exc.messages)) from exc
        for issue in report.errors:
            self.stderr.write(_("第 %(row)d 行（%(code)s）：%(message)s")
                              % {"row": issue.row, "code": issue.code or "-", "message": issue.message})
        summary = _("共 %(total)d 行：新增 %(created)d，更新 %(updated)d，未变 %(unchanged)d，出错 %(errors)d。") % {
            "total": report.total, "created": report.created, "updated": report.updated,
            "unchanged": report.unchanged, "errors": len(report.errors),
        }
        if report.dry_run:
            summary += " " + _("（仅检查，未写入）")
        self.stdout.write(summary)
        if report.errors:
            raise CommandError(_("%(n)d 行有错误，未导入。") % {"n": len(report.errors)}, returncode=1)
