"""The site's URLs: the chat, logging in and out, the admin."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.staticfiles.urls import staticfiles_urlpatterns
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="index"), name="home"),
    path("chat/", include("chat.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]

# Static files when DEBUG is on, under any server (`manage.py runserver` serves
# them itself too). A deployment runs collectstatic and lets its proxy serve them.
urlpatterns += staticfiles_urlpatterns()
