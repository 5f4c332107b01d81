from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InsightsConfig(AppConfig):
    name = "linli.insights"
    label = "insights"
    verbose_name = _("统计分析")

    def ready(self) -> None:
        from linli.places.signals import place_moved

        # A moved place rewrites the paths of its rollups: cached sums of the old tree go.
        place_moved.connect(_on_place_moved, dispatch_uid="insights.place_moved")


def _on_place_moved(**_kwargs: object) -> None:
    from django.db import transaction

    from linli.insights.rollup_cache import rates_cache_clear

    transaction.on_commit(rates_cache_clear)
