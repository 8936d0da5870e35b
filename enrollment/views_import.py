"""Stub views: replaced by the real ones."""
from django.http import HttpResponse


def roster_import(request, *args, **kwargs):
    return HttpResponse("TODO roster_import")


def roster_import_detail(request, *args, **kwargs):
    return HttpResponse("TODO roster_import_detail")


def roster_import_progress(request, *args, **kwargs):
    return HttpResponse("TODO roster_import_progress")


def roster_export(request, *args, **kwargs):
    return HttpResponse("TODO roster_export")


def enrollment_export(request, *args, **kwargs):
    return HttpResponse("TODO enrollment_export")

