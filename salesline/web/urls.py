from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from .views import (
    agreements,
    board,
    booking,
    calendar,
    campaigns,
    capacity,
    capacity_scenarios,
    documents,
    home,
    imports,
    lists,
    message_templates,
    messages,
    network_directory,
    people_report,
    places,
    planner,
    quality,
    records,
    reports,
    reports_flow,
    reports_forecast,
    search,
    settings,
    tasks,
    work,
    working_pattern,
)
from .views import jobs as job_pages

app_name = "web"

urlpatterns = [
    *home.urlpatterns,
    *lists.urlpatterns,
    *records.urlpatterns,
    *board.urlpatterns,
    *imports.urlpatterns,
    *settings.urlpatterns,
    *message_templates.urlpatterns,
    *job_pages.urlpatterns,
    *search.urlpatterns,
    *tasks.urlpatterns,
    *calendar.urlpatterns,
    *working_pattern.urlpatterns,
    *documents.urlpatterns,
    *messages.urlpatterns,
    *agreements.urlpatterns,
    *quality.urlpatterns,
    *campaigns.urlpatterns,
    *reports.urlpatterns,
    *reports_forecast.urlpatterns,
    *reports_flow.urlpatterns,
    *people_report.urlpatterns,
    *planner.urlpatterns,
    *places.urlpatterns,
    *booking.urlpatterns,
    *work.urlpatterns,
    *capacity.urlpatterns,
    *capacity_scenarios.urlpatterns,
    *network_directory.urlpatterns,
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password/change/",
        auth_views.PasswordChangeView.as_view(success_url=reverse_lazy("web:password-changed")),
        name="password-change",
    ),
    path(
        "password/changed/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password-changed",
    ),
    path(
        "password/reset/",
        auth_views.PasswordResetView.as_view(
            success_url=reverse_lazy("web:password-reset-sent"),
            email_template_name="registration/password_reset_email.txt",
        ),
        name="password-reset",
    ),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password-reset-sent",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            success_url=reverse_lazy("web:password-reset-complete")
        ),
        name="password-reset-confirm",
    ),
    path(
        "password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password-reset-complete",
    ),
]
