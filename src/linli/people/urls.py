from django.urls import path

from linli.people import views

app_name = "people"
urlpatterns = [
    path("me/", views.my_data, name="my_data"),
    path("residents/", views.resident_list, name="resident_list"),
    path("import/", views.import_view, name="import"),
]
