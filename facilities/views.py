"""Designated-facility registry pages (定点医疗机构): the list with filters and one facility's page.

County roles see every facility; a facility clerk only their own facility's page (the list is a
county tool). Scoping is Facility.objects.for_user, so another facility's page is simply 404.
"""
from dataclasses import dataclass

from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _, gettext_noop

from accounts.roles import capability_required, user_can
from enrollment.models import Township

from .models import Facility, FacilityStatus, Level


@capability_required("facilities.view")
def facility_list(request):
    facilities = Facility.objects.for_user(request.user).select_related("township")
    level = request.GET.get("level", "")
    status = request.GET.get("status", "")
    township_code = request.GET.get("township", "")
    if level in Level.values:
        facilities = facilities.filter(level=level)
    if status in FacilityStatus.values:
        facilities = facilities.filter(status=status)
    if township_code:
        facilities = facilities.filter(township__code=township_code)
    context = {
        "facilities": facilities,
        "levels": Level.choices,
        "statuses": FacilityStatus.choices,
        "townships": Township.objects.for_user(request.user),
        "level": level,
        "status": status,
        "township_code": township_code,
        "today": timezone.localdate(),
    }
    return render(request, "facilities/facility_list.html", context)


@dataclass(frozen=True)
class FacilityChange:
    when: object
    who: str
    kind: str
    reason: str
    changes: list[tuple[str, str, str]]  # (field label, old, new)


_KINDS = {"+": gettext_noop("新建"), "~": gettext_noop("修改"), "-": gettext_noop("删除")}


def _display(record, field_name: str) -> str:
    field = Facility._meta.get_field(field_name)
    value = getattr(record, field.attname)
    if value in (None, ""):
        return "—"
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if field_name == "township":
        township = Township.objects.filter(pk=value).first()
        return township.name if township else str(value)
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def facility_history(facility: Facility) -> list[FacilityChange]:
    """Every saved change of the facility, newest first, each with its changed fields."""
    records = list(facility.history.select_related("history_user").order_by("history_date", "history_id"))
    entries = []
    previous = None
    for record in records:
        changes = []
        if previous is not None:
            for change in record.diff_against(previous).changes:
                label = str(Facility._meta.get_field(change.field).verbose_name)
                changes.append((label, _display(previous, change.field), _display(record, change.field)))
        user = record.history_user
        entries.append(FacilityChange(
            when=record.history_date, who=(user.display_name if user else _("系统（命令行导入）")),
            kind=_(_KINDS.get(record.history_type, record.history_type)),
            reason=record.history_change_reason or "", changes=changes,
        ))
        previous = record
    entries.reverse()
    return entries


@capability_required("facilities.view_own")
def facility_detail(request, pk):
    facility = get_object_or_404(Facility.objects.for_user(request.user).select_related("township"), pk=pk)
    today = timezone.localdate()
    context = {
        "facility": facility,
        "history": facility_history(facility),
        "today": today,
        "covers_today": facility.covers(today),
        "can_list": user_can(request.user, "facilities.view"),
    }
    return render(request, "facilities/facility_detail.html", context)
