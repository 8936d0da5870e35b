"""Stub views: replaced by the real ones."""
from django.http import HttpResponse


def participation(request, *args, **kwargs):
    return HttpResponse("TODO participation")


def participation_export(request, *args, **kwargs):
    return HttpResponse("TODO participation_export")

