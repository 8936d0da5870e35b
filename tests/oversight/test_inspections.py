"""Inspections of a facility: recording with findings, penalty and documents (type by content,
size limit, nothing written on a refusal), the outstanding deduction, and the scoping of every view."""
from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Role
from core.errors import NcmsError
from oversight.models import Inspection, InspectionDocument
from oversight.services import inspection_document_add, inspection_record
from tests.factories import FacilityFactory

PDF = b"%PDF-1.4\n%inspection report\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40


def upload(name="report.pdf", content=PDF, content_type="application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def stored_files(settings):
    root = settings.MEDIA_ROOT
    return sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def officer(users_by_role):
    return users_by_role[Role.FUND_OFFICER]


@pytest.fixture
def other_facility(other_township):
    return FacilityFactory(code="F102", name="河口乡卫生院", township=other_township)


@pytest.fixture
def inspection(facility, officer):
    return inspection_record(user=officer, facility=facility, inspected_on=date(2026, 5, 12),
                             inspectors="张检查、李监督", findings="挂床住院 3 例", penalty_amount=Decimal("5000.00"),
                             deduct_from_settlements=True, documents=[upload()])


# --- services ---------------------------------------------------------------------------------


def test_inspection_recorded_with_penalty_documents_and_history(inspection, facility, officer):
    stored = Inspection.objects.get()
    assert (stored.facility, stored.date, stored.inspectors, stored.findings) == (
        facility, date(2026, 5, 12), "张检查、李监督", "挂床住院 3 例")
    assert (stored.penalty_amount, stored.deduct_from_settlements, stored.deducted_amount) == (
        Decimal("5000.00"), True, Decimal("0.00"))
    assert stored.outstanding_deduction == Decimal("5000.00")
    assert stored.recorded_by == officer and stored.recorded_at is not None
    document = InspectionDocument.objects.get()
    assert (document.inspection, document.original_name, document.content_type, document.size,
            document.uploaded_by) == (stored, "report.pdf", "application/pdf", len(PDF), officer)
    history = stored.history.get()
    assert (history.history_user, history.history_change_reason) == (officer, "记录监督检查")


def test_penalty_without_deduction_is_not_outstanding(facility, officer):
    recorded = inspection_record(user=officer, facility=facility, inspected_on=date(2026, 5, 12),
                                 inspectors="张检查", findings="病历不全", penalty_amount=Decimal("800.00"))
    assert recorded.outstanding_deduction == Decimal("0.00")
    assert recorded.documents.count() == 0


@pytest.mark.parametrize("changes,code", [
    ({"inspectors": "  "}, "inspectors_required"),
    ({"findings": ""}, "findings_required"),
    ({"penalty_amount": Decimal("-1.00")}, "bad_amounts"),
    ({"penalty_amount": Decimal("1.005")}, "bad_amounts"),
    ({"penalty_amount": Decimal("0.00"), "deduct_from_settlements": True}, "bad_amounts"),
    ({"inspected_on": None}, "bad_dates"),
    ({"documents": [upload(), upload("notes.pdf", b"just text, not a pdf", "application/pdf")]}, "bad_file_type"),
])
def test_refused_inspection_writes_nothing(facility, officer, settings, changes, code):
    arguments = {"inspected_on": date(2026, 5, 12), "inspectors": "张检查", "findings": "挂床住院",
                 "penalty_amount": Decimal("100.00"), "deduct_from_settlements": False, **changes}

    with pytest.raises(NcmsError) as refusal:
        inspection_record(user=officer, facility=facility, **arguments)

    assert refusal.value.code == code
    assert Inspection.objects.count() == 0 and InspectionDocument.objects.count() == 0
    assert stored_files(settings) == []


def test_document_too_large_is_refused(inspection, officer, settings):
    settings.INSPECTION_DOCUMENT_MAX_BYTES = 1024 * 1024
    big = upload("big.png", PNG + b"\x00" * (1024 * 1024), "image/png")
    before = stored_files(settings)

    with pytest.raises(NcmsError) as refusal:
        inspection_document_add(user=officer, inspection=inspection, upload=big)

    assert refusal.value.code == "file_too_large"
    assert InspectionDocument.objects.count() == 1 and stored_files(settings) == before


def test_document_type_is_sniffed_not_taken_from_the_name(inspection, officer):
    document = inspection_document_add(user=officer, inspection=inspection,
                                       upload=upload("photo.pdf", PNG, "application/pdf"))
    assert document.content_type == "image/png"


# --- pages ------------------------------------------------------------------------------------


def page_of(facility):
    return f"/facilities/{facility.pk}/"


def create_url(facility):
    return f"/facilities/{facility.pk}/inspections/"


def form_data(**changes):
    data = {"inspected_on": "2026-06-01", "inspectors": "王检查", "findings": "超标准收费",
            "penalty_amount": "1200.50", "deduct_from_settlements": "on"}
    data.update(changes)
    return data


@pytest.mark.parametrize("role", [Role.FUND_OFFICER, Role.REVIEWER, Role.ADMINISTRATOR])
def test_inspectors_record_from_the_facility_page(client, facility, users_by_role, role):
    client.force_login(users_by_role[role])
    assert 'id="inspection-form"' in client.get(page_of(facility)).content.decode()

    response = client.post(create_url(facility), {**form_data(), "documents": [upload(), upload("p.png", PNG)]})

    assert response.status_code == 302 and response.url == page_of(facility)
    recorded = Inspection.objects.get()
    assert (recorded.facility, recorded.date, recorded.penalty_amount, recorded.deduct_from_settlements,
            recorded.recorded_by) == (facility, date(2026, 6, 1), Decimal("1200.50"), True, users_by_role[role])
    assert [(d.original_name, d.content_type) for d in recorded.documents.order_by("id")] == [
        ("report.pdf", "application/pdf"), ("p.png", "image/png")]
    html = client.get(page_of(facility)).content.decode()
    assert "超标准收费" in html and "1,200.50" in html and "report.pdf" in html
    assert "待从后续结算款中扣减的处罚：1,200.50 元" in html


@pytest.mark.parametrize("changes,files,message", [
    ({}, [upload("x.pdf", b"GIF89a not allowed", "application/pdf")], "不是 PDF、JPEG 或 PNG 格式"),
    ({"penalty_amount": "-5.00"}, [], "金额不能为负数"),
    ({"penalty_amount": "0", "deduct_from_settlements": "on"}, [], "没有处罚金额，无法从结算款中扣减"),
    ({"findings": ""}, [], "该字段是必填项"),
])
def test_refused_form_writes_nothing(client, facility, officer, settings, changes, files, message):
    client.force_login(officer)

    response = client.post(create_url(facility), {**form_data(**changes), "documents": files},
                           HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert response.status_code == 400
    assert message in response.content.decode()
    assert Inspection.objects.count() == 0 and InspectionDocument.objects.count() == 0
    assert stored_files(settings) == []


def test_too_large_document_refused_by_the_form(client, facility, officer, settings):
    settings.INSPECTION_DOCUMENT_MAX_BYTES = 1024 * 1024
    client.force_login(officer)

    response = client.post(create_url(facility), {
        **form_data(), "documents": [upload("big.pdf", PDF + b"0" * (1024 * 1024))]})

    assert response.status_code == 400 and "太大" in response.content.decode()
    assert Inspection.objects.count() == 0 and stored_files(settings) == []


def test_documents_added_on_the_inspection_page(client, inspection, users_by_role):
    client.force_login(users_by_role[Role.REVIEWER])
    url = f"/facilities/inspections/{inspection.pk}/"

    response = client.post(url, {"documents": [upload("decision.pdf")]})
    refused = client.post(url, {"documents": [upload("bad.pdf", b"nope")]})

    assert response.status_code == 302
    assert refused.status_code == 400
    assert list(inspection.documents.values_list("original_name", flat=True)) == ["report.pdf", "decision.pdf"]


def test_download_returns_the_file(client, inspection, users_by_role):
    document = inspection.documents.get()
    client.force_login(users_by_role[Role.FACILITY_CLERK])  # clerk of F001, the inspected facility

    response = client.get(f"/facilities/inspection-documents/{document.pk}/")

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert 'filename="report.pdf"' in response["Content-Disposition"]


def urls_of(inspection):
    return {
        "facility": page_of(inspection.facility),
        "inspection": f"/facilities/inspections/{inspection.pk}/",
        "download": f"/facilities/inspection-documents/{inspection.documents.get().pk}/",
    }


def test_anonymous_is_sent_to_login_everywhere(client, inspection):
    for url in [*urls_of(inspection).values()]:
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith("/login/"), url
    response = client.post(create_url(inspection.facility), form_data())
    assert response.status_code == 302 and response.url.startswith("/login/")
    assert Inspection.objects.count() == 1


def test_township_clerk_reads_the_inspections_of_facilities_in_their_township(client, inspection, clerk):
    """Read-only: the facility's page, the inspection and its documents; no recording, no upload."""
    client.force_login(clerk)  # clerk of 城关镇, where F001 is located
    urls = urls_of(inspection)
    html = client.get(urls["facility"]).content.decode()
    assert "挂床住院 3 例" in html and 'id="inspection-form"' not in html
    assert client.get(urls["inspection"]).status_code == 200
    assert client.get(urls["download"]).status_code == 200
    assert client.post(create_url(inspection.facility), form_data()).status_code == 403
    assert client.post(urls["inspection"], {"documents": [upload()]}).status_code == 403
    assert Inspection.objects.count() == 1 and InspectionDocument.objects.count() == 1


def test_township_clerk_gets_404_for_inspections_of_other_townships_facilities(
        client, inspection, other_facility, officer, make_user, other_township):
    elsewhere = inspection_record(user=officer, facility=other_facility, inspected_on=date(2026, 5, 13),
                                  inspectors="王检查", findings="分解住院", penalty_amount=Decimal("0.00"),
                                  deduct_from_settlements=False, documents=[upload()])
    client.force_login(make_user(Role.TOWNSHIP_CLERK, township=other_township, username="hekou-clerk"))
    for url in urls_of(inspection).values():  # F001 lies in 城关镇, not 河口乡
        assert client.get(url).status_code == 404, url
    for url in urls_of(elsewhere).values():
        assert client.get(url).status_code == 200, url


def test_facility_clerk_reads_own_inspections_but_cannot_record(client, inspection, users_by_role):
    client.force_login(users_by_role[Role.FACILITY_CLERK])
    urls = urls_of(inspection)

    html = client.get(urls["facility"]).content.decode()
    assert "挂床住院 3 例" in html and 'id="inspection-form"' not in html
    assert client.get(urls["inspection"]).status_code == 200
    assert client.get(urls["download"]).status_code == 200
    assert client.post(create_url(inspection.facility), form_data()).status_code == 403
    assert client.post(urls["inspection"], {"documents": [upload()]}).status_code == 403
    assert Inspection.objects.count() == 1 and InspectionDocument.objects.count() == 1


def test_clerk_of_another_facility_gets_404(client, inspection, other_facility, make_user, officer):
    client.force_login(make_user(Role.FACILITY_CLERK, facility=other_facility, username="f102clerk"))
    for url in urls_of(inspection).values():
        assert client.get(url).status_code == 404, url
    # their own facility page does not list another facility's inspection
    assert "挂床住院 3 例" not in client.get(page_of(other_facility)).content.decode()


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.APPROVER, Role.CASHIER])
def test_county_roles_that_do_not_inspect_read_but_cannot_record(client, inspection, users_by_role, role):
    client.force_login(users_by_role[role])
    for url in urls_of(inspection).values():
        assert client.get(url).status_code == 200, url
    assert client.post(create_url(inspection.facility), form_data()).status_code == 403
    assert Inspection.objects.count() == 1


def test_recording_for_an_unknown_facility_is_404(client, officer):
    client.force_login(officer)
    assert client.post("/facilities/999999/inspections/", form_data()).status_code == 404
