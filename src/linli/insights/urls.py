from django.urls import path

from linli.insights import views

app_name = "insights"

urlpatterns = [
    path("rates/", views.rates, name="rates"),
    path("rates/export/", views.rates_export, name="export"),
    path("ranking/", views.street_ranking, name="ranking"),
    path("ranking/export/", views.ranking_export, name="ranking_export"),
]
