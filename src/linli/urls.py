from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from linli.api import api, api_not_found
from linli.core.health import healthz

urlpatterns = [
    path("", include("linli.web.urls")),
    path("accounts/", include("linli.accounts.urls")),
    path("places/", include("linli.places.urls")),
    path("people/", include("linli.people.urls")),
    path("audit/", include("linli.audit.urls")),
    path("requests/", include("linli.requests.urls")),
    path("insights/", include("linli.insights.urls")),
    path("notifications/", include("linli.notifications.urls")),
    path("surveys/", include("linli.surveys.urls")),
    path("deliberation/", include("linli.deliberation.urls")),
    path("votes/", include("linli.deliberation.vote_urls")),
    # Open311 GeoReport v2 (a public, key-authenticated machine interface).
    path("open311/", include("linli.requests.open311.urls")),
    # The admin signs in through linli's own page, so it gets throttling and two-factor too.
    path("admin/login/", login_not_required(RedirectView.as_view(pattern_name="accounts:login", query_string=True))),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    re_path(r"^api/", api_not_found),
    path("healthz", healthz, name="healthz"),
]
