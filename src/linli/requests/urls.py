from django.urls import path

from linli.requests import views

app_name = "requests"

urlpatterns = [
    path("<int:pk>/", views.detail, name="detail"),
    path("mine/<int:pk>/", views.mine_detail, name="mine_detail"),
]
