from django.urls import path

from linli.places import views

app_name = "places"
urlpatterns = [
    path("", views.tree, name="tree"),
]
