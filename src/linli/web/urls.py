from django.urls import path

from linli.web import views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("prefs/", views.settings_view, name="settings"),
    path("prefs/language/", views.set_language, name="set_language"),
    path("prefs/elder/", views.set_elder_mode, name="set_elder_mode"),
]
