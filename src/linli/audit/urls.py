from django.urls import path

from linli.audit import views

app_name = "audit"
urlpatterns = [
    path("", views.log, name="log"),
    path("<int:seq>/", views.event_detail, name="event"),
]
