from django.urls import path

from linli.people import views

app_name = "people"
urlpatterns = [
    # A resident's own data.
    path("me/", views.my_data, name="my_data"),
    path("me/download.json", views.my_data_download, name="my_data_download"),
    path("me/reveal/<str:field>/", views.my_reveal, name="my_reveal"),
    path("me/correct/", views.correction_new, name="correction_new"),
    path("me/consents/<int:pk>/withdraw/", views.consent_withdraw, name="consent_withdraw"),
    # Staff: the registry.
    path("residents/", views.resident_list, name="resident_list"),
    path("residents/<int:pk>/", views.resident_detail, name="resident_detail"),
    path("residents/<int:pk>/reveal/<str:field>/", views.resident_reveal, name="resident_reveal"),
    path("corrections/", views.corrections, name="corrections"),
    path("corrections/<int:pk>/resolve/", views.correction_resolve, name="correction_resolve"),
    path("import/", views.import_view, name="import"),
]
