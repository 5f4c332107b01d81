from django.urls import path

from linli.requests import views

app_name = "requests"

urlpatterns = [
    # Residents.
    path("new/", views.new, name="new"),
    path("mine/", views.mine, name="mine"),
    path("mine/<int:pk>/", views.mine_detail, name="mine_detail"),
    path("mine/<int:pk>/<slug:action>/", views.mine_action, name="mine_action"),
    path("<int:pk>/follow/", views.follow, name="follow"),
    # Staff: the workbench.
    path("queue/", views.queue, name="queue"),
    path("queue/assign/", views.bulk_assign, name="bulk_assign"),
    path("entry/", views.staff_entry, name="staff_entry"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/act/<slug:action>/", views.action, name="action"),
    # Photos, for whoever may see the request.
    path("attachments/<int:pk>/", views.attachment, name="attachment"),
]
