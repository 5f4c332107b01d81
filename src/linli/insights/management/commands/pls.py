"""`linli pls`: fit a PLS path model to a data file and print the results as JSON.

    linli pls --data answers.csv --model MODEL.json [--bootstrap 1000 --seed 7] --format json

Bad input ends with a one-line message naming the problem and exit status 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from linli.insights import pls, pls_io


class Command(BaseCommand):
    help = ("Fit a PLS path model (satisfaction index) to a .csv or .xlsx file and print JSON: "
            "outer weights and loadings, paths, R², total effects, GoF, reliability, 0–100 index, "
            "and seeded bootstrap intervals. See docs/satisfaction-model.md.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--data", required=True, help="the answers: .csv (UTF-8 or GB18030) or .xlsx, one row per respondent")
        parser.add_argument("--model", required=True, help="MODEL.json: blocks, paths and settings")
        parser.add_argument("--bootstrap", type=int, default=0, metavar="N",
                            help=f"bootstrap resamples ({pls.BOOTSTRAP_MIN}–{pls.BOOTSTRAP_MAX}; default 0: none)")
        parser.add_argument("--seed", type=int, default=None, metavar="S",
                            help="random seed for the bootstrap (default: a fresh one, reported in the output)")
        parser.add_argument("--format", choices=["json"], default="json", help="output format (json)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            model = pls_io.load_model(Path(options["model"]))
            table = pls_io.load_table(Path(options["data"]), model.items)
            result = pls.fit(model, table, bootstrap=options["bootstrap"], seed=options["seed"])
        except pls.PlsError as exc:
            raise CommandError(exc.message, returncode=2) from exc
        for warning in result.warnings:
            self.stderr.write(warning)
        self.stdout.write(pls_io.result_to_json(result))
