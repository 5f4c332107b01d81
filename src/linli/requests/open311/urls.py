"""Open311 GeoReport v2 (and FixMyStreet's service request updates) under /open311/v2/.

Each resource answers in the format its address ends with (``.json`` or ``.xml``);
``service/{code}`` is the singular form some older clients ask for."""

from django.urls import path, re_path

from linli.requests.open311 import views

app_name = "open311"

_FORMAT = r"\.(?P<fmt>json|xml)$"

urlpatterns = [
    re_path(r"^v2/discovery" + _FORMAT, views.discovery, name="discovery"),
    re_path(r"^v2/services" + _FORMAT, views.services, name="services"),
    re_path(r"^v2/services/(?P<service_code>[^/]+)" + _FORMAT, views.service_definition, name="service_definition"),
    re_path(r"^v2/service/(?P<service_code>[^/]+)" + _FORMAT, views.service_definition,
            name="service_definition_singular"),
    re_path(r"^v2/requests" + _FORMAT, views.requests, name="requests"),
    re_path(r"^v2/requests/(?P<service_request_id>[^/]+)" + _FORMAT, views.request_detail, name="request_detail"),
    re_path(r"^v2/tokens/(?P<token>[^/]+)" + _FORMAT, views.token_detail, name="token"),
    re_path(r"^v2/servicerequestupdates" + _FORMAT, views.updates, name="updates"),
    path("v2/media/<str:token>", views.media, name="media"),
    # Everything else under /open311/ is a 404 in the GeoReport error shape.
    re_path(r"^(?P<rest>.*)$", views.fallback, name="fallback"),
]
