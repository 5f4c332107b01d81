from django.urls import path

from linli.insights import satisfaction_views, views

app_name = "insights"

urlpatterns = [
    path("rates/", views.rates, name="rates"),
    path("rates/export/", views.rates_export, name="export"),
    path("ranking/", views.street_ranking, name="ranking"),
    path("ranking/export/", views.ranking_export, name="ranking_export"),
    # 满意度分析: the satisfaction model on survey responses or uploaded data.
    path("satisfaction/", satisfaction_views.overview, name="satisfaction"),
    path("satisfaction/export/", satisfaction_views.overview_export, name="satisfaction_overview_export"),
    path("satisfaction/new/", satisfaction_views.new, name="satisfaction_new"),
    path("satisfaction/runs/<int:pk>/", satisfaction_views.run_detail, name="satisfaction_run"),
    path("satisfaction/runs/<int:pk>/print/", satisfaction_views.run_print, name="satisfaction_print"),
    path("satisfaction/runs/<int:pk>/export/", satisfaction_views.run_export, name="satisfaction_export"),
]
