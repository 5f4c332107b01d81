from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RequestsConfig(AppConfig):
    name = "linli.requests"
    label = "requests"
    verbose_name = _("接诉即办")

    def ready(self) -> None:
        from linli.places.signals import place_moved
        from linli.requests.rollups import on_place_moved

        place_moved.connect(on_place_moved, dispatch_uid="requests.place_moved")
