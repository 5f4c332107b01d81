from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebConfig(AppConfig):
    name = "linli.web"
    label = "web"
    verbose_name = _("网页外壳")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from linli.web.signals import keep_elder_choice

        user_logged_in.connect(keep_elder_choice, dispatch_uid="linli.web.keep_elder_choice")
