from django.urls import path

from linli.deliberation import meeting_views, views

app_name = "deliberation"

urlpatterns = [
    # Staff: the overview and the community's settings.
    path("", views.desk, name="desk"),
    path("settings/", views.config, name="config"),
    # Proposals (居民提议): residents propose and support; the committee answers.
    path("proposals/", views.proposals, name="proposals"),
    path("proposals/new/", views.proposal_new, name="proposal_new"),
    path("proposals/<int:pk>/", views.proposal_detail, name="proposal_detail"),
    path("proposals/<int:pk>/support/", views.proposal_support, name="proposal_support"),
    path("proposals/<int:pk>/withdraw/", views.proposal_withdraw, name="proposal_withdraw"),
    path("proposals/<int:pk>/answer/", views.proposal_answer, name="proposal_answer"),
    path("proposals/<int:pk>/agenda/", views.proposal_agenda, name="proposal_agenda"),
    # Meetings: the time poll, the agenda, sign-in and the live quorum, comments, minutes.
    path("meetings/", meeting_views.meetings, name="meetings"),
    path("meetings/new/", meeting_views.meeting_new, name="meeting_new"),
    path("meetings/<int:pk>/", meeting_views.meeting_detail, name="meeting_detail"),
    path("meetings/<int:pk>/quorum/", meeting_views.meeting_quorum, name="meeting_quorum"),
    path("meetings/<int:pk>/poll/", meeting_views.meeting_poll, name="meeting_poll"),
    path("meetings/<int:pk>/options/", meeting_views.meeting_option_add, name="meeting_option_add"),
    path("meetings/<int:pk>/schedule/", meeting_views.meeting_schedule, name="meeting_schedule"),
    path("meetings/<int:pk>/agenda/", meeting_views.meeting_agenda_add, name="meeting_agenda_add"),
    path("meetings/<int:pk>/sign-in/", meeting_views.meeting_sign_in_self, name="meeting_sign_in"),
    path("meetings/<int:pk>/desk/", meeting_views.meeting_desk, name="meeting_desk"),
    path("meetings/<int:pk>/comments/", meeting_views.meeting_comment, name="meeting_comment"),
    path("comments/<int:pk>/hide/", meeting_views.comment_hide, name="comment_hide"),
    path("meetings/<int:pk>/end/", meeting_views.meeting_end, name="meeting_end"),
    path("meetings/<int:pk>/cancel/", meeting_views.meeting_cancel, name="meeting_cancel"),
    path("meetings/<int:pk>/minutes/", meeting_views.meeting_minutes, name="meeting_minutes"),
    # Decisions and the actions that carry them out.
    path("decisions/", views.decisions, name="decisions"),
    path("decisions/new/", views.decision_new, name="decision_new"),
    path("decisions/<int:pk>/", views.decision_detail, name="decision_detail"),
    path("decisions/<int:pk>/actions/", views.action_new, name="action_new"),
    path("actions/<int:pk>/", views.action_detail, name="action_detail"),
    path("actions/<int:pk>/update/", views.action_update, name="action_update"),
    # The public record (no sign-in): minutes, decisions, progress and its photos.
    path("public/", views.public_index, name="public"),
    path("public/decisions/<int:pk>/", views.public_decision_view, name="public_decision"),
    path("public/meetings/<int:pk>/", views.public_meeting_view, name="public_meeting"),
    path("public/photos/<int:pk>/", views.action_photo, name="action_photo"),
]
