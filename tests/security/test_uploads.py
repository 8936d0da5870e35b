"""Every upload of the project (claim scans, inspection documents, roster files): the type is
sniffed from the content, never the name; a size limit from settings; a clear message and nothing
stored when refused. Files live under MEDIA_ROOT (outside STATIC_ROOT), no URL serves MEDIA_URL,
and the download views apply the user's scope."""
import io
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import Resolver404, resolve, reverse

from accounts.models import Role
from claims import services as claim_services
from claims import settlement
from claims.models import ClaimDocument
from config import settings as project_settings
from core.uploads import is_csv_text, roster_file_kind
from enrollment.models import ImportJob
from oversight.models import InspectionDocument
from oversight.services import inspection_record
from tests.claims.conftest import TODAY
from tests.claims.test_views import submit
from tests.enrollment.roster_data import csv_bytes, family, xlsx_bytes
from tests.factories import FacilityFactory, PolicyVersionFactory, TownshipFactory

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n" + b"0" * 64
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64
PNG_THEN_HTML = b"\x89PNG\r\n\x1a\n<html><body><script>alert(document.cookie)</script></body></html>"
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"

SCAN_REFUSALS = [("invoice.pdf", EXE), ("invoice.pdf", HTML), ("photo.jpg", b"GIF89a" + b"\x00" * 40),
                 ("scan.png", b"\x89PNX" + b"\x00" * 40), ("scan.pdf", b"%PD")]


def stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    monkeypatch.setattr(settlement, "_today", lambda: TODAY)


@pytest.fixture
def claim(policy, facility, member, admin_user):
    return submit(member, admin_user)


@pytest.fixture
def officer(users_by_role):
    return users_by_role[Role.FUND_OFFICER]


@pytest.fixture
def inspection(facility, officer):
    return inspection_record(user=officer, facility=facility, inspected_on=date(2026, 5, 12),
                             inspectors="张检查", findings="挂床住院 3 例", penalty_amount=Decimal("0.00"),
                             deduct_from_settlements=False)


# --- where files live -------------------------------------------------------------------------


def test_media_root_is_outside_the_static_root_and_not_served_by_url(client, users_by_role):
    media, static = Path(project_settings.MEDIA_ROOT).resolve(), Path(project_settings.STATIC_ROOT).resolve()
    assert not media.is_relative_to(static) and not static.is_relative_to(media)
    assert media not in [Path(d).resolve() for d in project_settings.STATICFILES_DIRS]
    with pytest.raises(Resolver404):
        resolve("/media/claims/2026/03/invoice.pdf")
    client.force_login(users_by_role[Role.ADMINISTRATOR])
    assert client.get("/media/claims/2026/03/invoice.pdf").status_code == 404


def test_a_stored_scan_is_not_reachable_by_its_media_url(client, clerk, claim, settings):
    document = claim_services.claim_document_add(user=clerk, claim=claim, upload=SimpleUploadedFile("a.pdf", PDF))
    assert Path(document.file.path).is_relative_to(Path(settings.MEDIA_ROOT))
    client.force_login(clerk)
    assert client.get(document.file.url).status_code == 404
    assert client.get(reverse("claims:document_download", args=[document.pk])).status_code == 200


# --- claim scans ------------------------------------------------------------------------------


@pytest.mark.parametrize("name,content,content_type", [
    ("发票.pdf", PDF, "application/pdf"), ("发票.jpg", JPEG, "image/jpeg"), ("发票.png", PNG, "image/png"),
    ("scan.bin", PDF, "application/pdf"),  # the name doesn't matter, the bytes do
])
def test_claim_scan_of_the_right_type_is_stored(client, clerk, claim, name, content, content_type):
    client.force_login(clerk)
    client.post(reverse("claims:document_upload", args=[claim.pk]),
                {"scans": [SimpleUploadedFile(name, content, content_type="application/octet-stream")]})
    document = ClaimDocument.objects.get()
    assert (document.content_type, document.size, document.original_name) == (content_type, len(content), name)
    download = client.get(reverse("claims:document_download", args=[document.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == content
    assert download["Content-Type"] == content_type and download["Content-Disposition"].startswith("attachment")


@pytest.mark.parametrize("name,content", SCAN_REFUSALS)
def test_claim_scan_of_another_type_is_refused_and_nothing_stored(client, clerk, claim, settings, name, content):
    client.force_login(clerk)
    response = client.post(reverse("claims:document_upload", args=[claim.pk]),
                           {"scans": [SimpleUploadedFile(name, content, content_type="application/pdf")]},
                           follow=True)
    html = response.content.decode()
    assert "不是 PDF、JPEG 或 PNG 格式的扫描件" in html
    assert not ClaimDocument.objects.exists() and stored_files(settings) == []


def test_claim_scan_over_the_limit_is_refused(client, clerk, claim, settings):
    settings.CLAIM_DOCUMENT_MAX_BYTES = 1024 * 1024
    client.force_login(clerk)
    big = PDF + b"0" * (1024 * 1024)
    response = client.post(reverse("claims:document_upload", args=[claim.pk]),
                           {"scans": [SimpleUploadedFile("big.pdf", big)]}, follow=True)
    assert "太大" in response.content.decode() and "最大 1 MB" in response.content.decode()
    assert not ClaimDocument.objects.exists() and stored_files(settings) == []


def test_claim_entry_with_a_disguised_scan_stores_no_claim(client, clerk, policy, facility, member, settings):
    from claims.models import Claim
    from tests.claims.test_views import entry_data

    client.force_login(clerk)
    data = entry_data(member, facility)
    data["scans"] = [SimpleUploadedFile("发票.pdf", EXE, content_type="application/pdf")]
    response = client.post(reverse("claims:claim_create"), data)
    assert response.status_code == 200
    assert "不是 PDF、JPEG 或 PNG 格式的扫描件" in response.content.decode()
    assert not Claim.objects.exists() and stored_files(settings) == []


def test_claim_scans_are_served_only_within_scope(client, claim, clerk, other_clerk, facility_clerk,
                                                  admin_user, users_by_role, township):
    document = claim_services.claim_document_add(user=clerk, claim=claim, upload=SimpleUploadedFile("a.pdf", PDF))
    url = reverse("claims:document_download", args=[document.pk])

    anonymous = client.get(url)
    assert anonymous.status_code == 302 and anonymous.url.startswith(reverse("login"))

    for user, status in [(clerk, 200), (other_clerk, 404), (facility_clerk, 200),
                         (users_by_role[Role.REVIEWER], 200)]:
        client.force_login(user)
        assert client.get(url).status_code == status, user.username
    elsewhere_clerk = users_by_role[Role.FACILITY_CLERK].__class__.objects.create_user(
        username="fclerk-elsewhere", role=Role.FACILITY_CLERK,
        facility=FacilityFactory(code="F009", name="别处卫生院", township=township))
    client.force_login(elsewhere_clerk)
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("add", ["claim", "inspection"])
def test_a_disguised_file_is_stored_under_the_extension_of_its_detected_type(clerk, claim, officer, inspection,
                                                                             settings, add):
    """A PNG signature followed by HTML, named evil.html, is a PNG to the checks: it is stored as
    ….png, never under .html (a file served or opened by its name would run as a page)."""
    from oversight.services import inspection_document_add

    upload = SimpleUploadedFile("evil.html", PNG_THEN_HTML, content_type="text/html")
    if add == "claim":
        document = claim_services.claim_document_add(user=clerk, claim=claim, upload=upload)
    else:
        document = inspection_document_add(user=officer, inspection=inspection, upload=upload)
    assert document.content_type == "image/png"
    assert document.file.name.endswith(".png") and ".htm" not in document.file.name
    [stored] = stored_files(settings)
    assert stored.suffix == ".png" and stored.read_bytes() == PNG_THEN_HTML
    assert document.original_name == "evil.html"  # what the clerk uploaded, for the list


# --- inspection documents ---------------------------------------------------------------------


def test_inspection_document_of_the_right_type_is_stored(client, officer, inspection):
    client.force_login(officer)
    response = client.post(reverse("oversight:inspection_detail", args=[inspection.pk]),
                           {"documents": [SimpleUploadedFile("处罚决定.jpg", JPEG)]})
    assert response.status_code == 302
    document = InspectionDocument.objects.get()
    assert (document.content_type, document.size) == ("image/jpeg", len(JPEG))


@pytest.mark.parametrize("name,content", SCAN_REFUSALS)
def test_inspection_document_of_another_type_is_refused(client, officer, inspection, settings, name, content):
    client.force_login(officer)
    response = client.post(reverse("oversight:inspection_detail", args=[inspection.pk]),
                           {"documents": [SimpleUploadedFile(name, content, content_type="application/pdf")]})
    assert response.status_code == 400
    html = response.content.decode()
    assert "不是 PDF、JPEG 或 PNG 格式" in html
    assert not InspectionDocument.objects.exists() and stored_files(settings) == []


def test_inspection_document_over_the_limit_is_refused(client, officer, inspection, settings):
    settings.INSPECTION_DOCUMENT_MAX_BYTES = 1024 * 1024
    client.force_login(officer)
    response = client.post(reverse("oversight:inspection_detail", args=[inspection.pk]),
                           {"documents": [SimpleUploadedFile("big.pdf", PDF + b"0" * (1024 * 1024))]})
    assert response.status_code == 400 and "太大" in response.content.decode()
    assert not InspectionDocument.objects.exists() and stored_files(settings) == []


def test_inspection_documents_are_served_only_within_scope(client, officer, inspection, facility, township,
                                                           make_user, clerk):
    from oversight.services import inspection_document_add

    document = inspection_document_add(user=officer, inspection=inspection, upload=SimpleUploadedFile("r.pdf", PDF))
    url = reverse("oversight:inspection_document_download", args=[document.pk])

    anonymous = client.get(url)
    assert anonymous.status_code == 302 and anonymous.url.startswith(reverse("login"))
    own = make_user(Role.FACILITY_CLERK, facility=facility, username="own-facility")
    other = make_user(Role.FACILITY_CLERK, facility=FacilityFactory(code="F008", township=township),
                      username="other-facility")
    # the township clerk of the facility's township reads it (read-only supervision), another township's not
    elsewhere = make_user(Role.TOWNSHIP_CLERK, township=TownshipFactory(code="420102900"), username="elsewhere")
    for user, status in [(officer, 200), (own, 200), (other, 404), (clerk, 200), (elsewhere, 404)]:
        client.force_login(user)
        assert client.get(url).status_code == status, user.username


# --- roster files ----------------------------------------------------------------------------


def roster_upload(client, data, name):
    return client.post(reverse("enrollment:roster_import"), {"file": SimpleUploadedFile(name, data), "year": 2026})


@pytest.mark.parametrize("name,data", [
    ("花名册.csv", csv_bytes(family())),
    ("花名册.csv", csv_bytes(family(), encoding="gb18030")),
    ("花名册.xlsx", xlsx_bytes(family())),
])
def test_roster_of_the_right_type_is_accepted(client, clerk, village, name, data):
    PolicyVersionFactory(year=2026)  # the roster's contributions are the year's policy amount
    client.force_login(clerk)
    response = roster_upload(client, data, name)
    assert response.status_code == 302
    assert ImportJob.objects.get().status == ImportJob.Status.READY


def zip_of(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize("name,data,message", [
    ("roster.csv", EXE, "不是 CSV 文本"),
    ("roster.csv", HTML, "不是 CSV 文本"),
    ("roster.csv", PDF, "不是 CSV 文本"),
    ("roster.csv", xlsx_bytes(family()), "不是 CSV 文本"),
    ("roster.xlsx", csv_bytes(family()), "不是 XLSX 表格"),
    ("roster.xlsx", EXE, "不是 XLSX 表格"),
    ("roster.xlsx", zip_of({"payload.exe": EXE}), "不是 XLSX 表格"),
    ("roster.exe", csv_bytes(family()), "只能上传 CSV 或 XLSX 文件"),
])
def test_roster_of_another_type_is_refused_and_nothing_stored(client, clerk, village, settings, name, data,
                                                              message):
    client.force_login(clerk)
    response = roster_upload(client, data, name)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ImportJob.objects.exists() and stored_files(settings) == []


def test_roster_over_the_limit_is_refused(client, clerk, village, settings):
    settings.ROSTER_UPLOAD_MAX_BYTES = 200
    client.force_login(clerk)
    response = roster_upload(client, csv_bytes(family()), "roster.csv")
    assert "文件太大" in response.content.decode()
    assert not ImportJob.objects.exists() and stored_files(settings) == []


def test_csv_sniffing_rules():
    assert is_csv_text("村代码,户号\n420102100201,H001\n".encode("gb18030"))
    assert is_csv_text(b"\xef\xbb\xbfa,b\r\n1,2\r\n")
    assert is_csv_text("姓名,电话\n张三,138".encode()[:-1] + "张".encode()[:2])  # cut inside a character
    assert not is_csv_text(b"a,b\n\x00\x01")
    assert not is_csv_text(b"  \n<svg onload=alert(1)>")
    assert not is_csv_text(b"\xff\xfe\xfd\xfc\x80\x81\x82")
    assert not is_csv_text(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")  # PDF header decodes as GB18030


def test_roster_kind_comes_from_the_bytes_not_the_content_type():
    upload = SimpleUploadedFile("r.xlsx", xlsx_bytes(family()), content_type="text/csv")
    assert roster_file_kind(upload) == "xlsx" and upload.tell() == 0


@pytest.mark.parametrize("add", ["claim", "inspection"])
def test_a_disguised_file_downloads_under_the_extension_of_its_detected_type(client, clerk, claim, officer,
                                                                            inspection, add):
    from oversight.services import inspection_document_add

    upload = SimpleUploadedFile("evil.html", PNG_THEN_HTML, content_type="text/html")
    if add == "claim":
        document = claim_services.claim_document_add(user=clerk, claim=claim, upload=upload)
        client.force_login(clerk)
        url = reverse("claims:document_download", args=[document.pk])
    else:
        document = inspection_document_add(user=officer, inspection=inspection, upload=upload)
        client.force_login(officer)
        url = reverse("oversight:inspection_document_download", args=[document.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert 'filename="evil.png"' in response["Content-Disposition"]
