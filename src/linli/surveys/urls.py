from django.urls import path

from linli.surveys import answer_views, views

app_name = "surveys"

urlpatterns = [
    # Residents: answer through an invitation's link (no sign-in), or from their list.
    path("a/<str:token>/", answer_views.answer, name="answer"),
    path("a/<str:token>/thanks/", answer_views.thanks, name="thanks"),
    path("mine/", answer_views.mine, name="mine"),
    path("take/<int:pk>/", answer_views.take, name="take"),
    # Staff: questionnaires and the builder.
    path("", views.questionnaire_list, name="list"),
    path("new/", views.questionnaire_new, name="new"),
    path("sample-size/", views.sample_size_view, name="sample_size"),
    path("<int:pk>/", views.questionnaire_detail, name="detail"),
    path("<int:pk>/settings/", views.questionnaire_settings, name="settings"),
    path("<int:pk>/status/", views.questionnaire_status, name="status"),
    path("<int:pk>/copy/", views.questionnaire_copy, name="copy"),
    path("<int:pk>/dimensions/add/", views.dimension_add, name="dimension_add"),
    path("dimensions/<int:pk>/", views.dimension_edit, name="dimension_edit"),
    path("<int:pk>/questions/add/", views.question_add, name="question_add"),
    path("questions/<int:pk>/", views.question_edit, name="question_edit"),
    path("questions/<int:pk>/move/", views.question_move, name="question_move"),
    path("questions/<int:pk>/delete/", views.question_delete, name="question_delete"),
    # Distribution, rates, paper entry, results.
    path("<int:pk>/distribute/", views.distribute, name="distribute"),
    path("<int:pk>/slips/", views.slips, name="slips"),
    path("<int:pk>/rates/", views.rates, name="rates"),
    path("<int:pk>/remind/", views.remind, name="remind"),
    path("<int:pk>/paper/", answer_views.paper, name="paper"),
    path("<int:pk>/results/", views.results, name="results"),
    path("<int:pk>/texts/", views.texts, name="texts"),
]
