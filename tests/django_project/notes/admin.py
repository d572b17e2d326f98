"""The admin for the sample models."""

from django.contrib import admin

from .models import Note, Tally

admin.site.register(Note)
admin.site.register(Tally)
