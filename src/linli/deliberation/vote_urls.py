from django.urls import path

from linli.deliberation import vote_ballot_views, vote_paper_views, vote_roll_views, vote_views

app_name = "votes"

urlpatterns = [
    # Staff: the list, drafting, one vote and what moves it on.
    path("", vote_views.vote_list, name="list"),
    path("new/", vote_views.vote_new, name="new"),
    path("<int:pk>/", vote_views.vote_detail, name="detail"),
    path("<int:pk>/open/", vote_views.vote_open, name="open"),
    path("<int:pk>/close/", vote_views.vote_close, name="close"),
    path("<int:pk>/publish/", vote_views.vote_publish, name="publish"),
    path("<int:pk>/cancel/", vote_views.vote_cancel, name="cancel"),
    path("<int:pk>/remind/", vote_views.vote_remind, name="remind"),
    path("<int:pk>/roll/", vote_views.vote_roll, name="roll"),
    path("<int:pk>/history/", vote_views.vote_history, name="history"),
    # Paper ballots (two-person control) and proxies.
    path("<int:pk>/paper/", vote_paper_views.vote_paper, name="paper"),
    path("<int:pk>/paper/issue/", vote_paper_views.paper_issue, name="paper_issue"),
    path("<int:pk>/paper/codes/", vote_paper_views.paper_codes, name="paper_codes"),
    path("paper/<int:pk>/confirm/", vote_paper_views.paper_confirm, name="paper_confirm"),
    path("paper/<int:pk>/reject/", vote_paper_views.paper_reject, name="paper_reject"),
    path("<int:pk>/proxies/", vote_paper_views.vote_proxies, name="proxies"),
    path("proxies/<int:pk>/revoke/", vote_paper_views.proxy_revoke, name="proxy_revoke"),
    path("proxies/<int:pk>/authorisation/", vote_paper_views.proxy_file, name="proxy_file"),
    # The owners' roll, imported from the property register.
    path("owner-rolls/", vote_roll_views.owner_rolls, name="owner_rolls"),
    path("owner-rolls/import/", vote_roll_views.owner_roll_import, name="owner_roll_import"),
    path("owner-rolls/<int:pk>/", vote_roll_views.owner_roll_detail, name="owner_roll"),
    path("owners/<int:pk>/link/", vote_roll_views.owner_link, name="owner_link"),
    # The voter.
    path("mine/", vote_ballot_views.mine, name="mine"),
    path("<int:pk>/ballot/", vote_ballot_views.ballot, name="ballot"),
    path("<int:pk>/receipt/", vote_ballot_views.receipt, name="receipt"),
    # The public record (no sign-in).
    path("results/", vote_ballot_views.public_list, name="public_list"),
    path("results/<int:pk>/", vote_ballot_views.public_detail, name="public_detail"),
    path("results/<int:pk>/result.json", vote_ballot_views.public_file, name="public_file"),
]
