"""URLs of the sample project."""

from django.contrib import admin
from django.urls import path

from . import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("plain/", views.plain),
    path("async/", views.async_view),
    path("orm/", views.orm_view),
    path("echo/", views.echo),
    path("upload/", views.upload),
    path("stream/", views.stream),
    path("astream/", views.astream),
    path("forever/", views.forever),
    path("file/", views.file_view),
    path("secure/", views.secure),
    path("session/set/", views.session_set),
    path("session/get/", views.session_get),
    path("whoami/", views.whoami),
    path("boom/", views.boom),
]
