"""Stub views: replaced by the real ones."""
from django.http import HttpResponse


def household_search(request, *args, **kwargs):
    return HttpResponse("TODO household_search")


def household_create(request, *args, **kwargs):
    return HttpResponse("TODO household_create")


def household_detail(request, *args, **kwargs):
    return HttpResponse("TODO household_detail")


def household_edit(request, *args, **kwargs):
    return HttpResponse("TODO household_edit")


def member_add(request, *args, **kwargs):
    return HttpResponse("TODO member_add")


def member_edit(request, *args, **kwargs):
    return HttpResponse("TODO member_edit")


def enrollment_record(request, *args, **kwargs):
    return HttpResponse("TODO enrollment_record")


def household_card_pdf(request, *args, **kwargs):
    return HttpResponse("TODO household_card_pdf")

