from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "linli.core"
    label = "core"
    verbose_name = _("系统")

    def ready(self) -> None:
        # Each app's tasks.py registers its recurring jobs on import; loading them all
        # here means every process (web, worker, tests) sees the same registry.
        autodiscover_modules("tasks")
