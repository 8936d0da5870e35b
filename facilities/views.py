"""Stub views: replaced by the real ones."""
from django.http import HttpResponse


def facility_list(request, *args, **kwargs):
    return HttpResponse("TODO facility_list")


def facility_detail(request, *args, **kwargs):
    return HttpResponse("TODO facility_detail")

