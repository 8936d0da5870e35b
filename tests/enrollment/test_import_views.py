"""The roster import in the browser: upload → preview (errors or plan) → confirm; scoping of every view."""
from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Role
from enrollment.models import Enrollment, Household, ImportJob, Member
from enrollment.rules import make_resident_id
from tests.enrollment.roster_data import (
    HEAD_ID,
    OTHER_HEAD_ID,
    SPOUSE_ID,
    csv_bytes,
    family,
    person,
    xlsx_bytes,
)

YEAR = 2026


def upload(client, data, name="roster.csv", year=YEAR):
    return client.post(reverse("enrollment:roster_import"),
                       {"file": SimpleUploadedFile(name, data), "year": year})


def nothing_written():
    return (Household.objects.count(), Member.objects.count(), Enrollment.objects.count()) == (0, 0, 0)


def make_job(user, township, *, status=ImportJob.Status.READY, rows=None):
    return ImportJob.objects.create(
        year=YEAR, file=SimpleUploadedFile("r.csv", csv_bytes(rows or family())), original_name="r.csv",
        created_by=user, township=township, status=status, total_rows=4,
        summary={"plan": {"rows": 4, "households_created": 2, "households_updated": 0,
                          "members_created": 4, "members_updated": 0, "enrollments_created": 4,
                          "unchanged_rows": 0}},
    )


# --- the happy path ------------------------------------------------------------------------

def test_upload_shows_the_plan_and_writes_nothing_until_confirmed(client, clerk, village):
    client.force_login(clerk)

    response = upload(client, csv_bytes(family()))

    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("enrollment:roster_import_detail", args=[job.pk])
    assert job.status == ImportJob.Status.READY
    assert job.township == clerk.township
    assert job.created_by == clerk
    assert job.total_rows == 4
    assert job.summary["plan"] == {"rows": 4, "households_created": 2, "households_updated": 0,
                                   "members_created": 4, "members_updated": 0,
                                   "enrollments_created": 4, "unchanged_rows": 0}
    assert nothing_written()

    page = client.get(response.url)
    html = page.content.decode()
    assert page.status_code == 200
    assert "确认导入" in html
    assert "张大山" in html  # the preview rows
    assert "village_code" in html  # the preview header as the file gives it
    assert page.context["preview"]["rows"][0][4] == HEAD_ID
    assert len(page.context["preview"]["rows"]) == 4


def test_confirm_imports_the_rows(client, clerk, village):
    client.force_login(clerk)
    job_url = upload(client, csv_bytes(family())).url

    response = client.post(job_url, {"confirm": "1"})

    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.DONE
    assert job.summary["result"] == {"rows": 4, "households_created": 2, "households_updated": 0,
                                     "members_created": 4, "members_updated": 0,
                                     "enrollments_created": 4, "unchanged_rows": 0}
    assert job.processed_rows == job.total_rows == 4
    assert job.finished_at is not None
    assert job.task_id == ""  # small files import in the request
    assert sorted(Household.objects.values_list("number", flat=True)) == ["H001", "H002"]
    assert Member.objects.get(id_number=SPOUSE_ID).household.head.id_number == HEAD_ID
    enrollment = Enrollment.objects.get(member__id_number=OTHER_HEAD_ID)
    assert (enrollment.year, enrollment.contribution, enrollment.payer, enrollment.recorded_by) == (
        YEAR, Decimal("380.00"), "civil_affairs", clerk)
    assert Member.history.filter(history_user=clerk).count() == 4

    page = client.get(job_url)
    assert "导入完成" in page.content.decode()
    assert page.context["result"]["members_created"] == 4


def test_confirming_twice_imports_once(client, clerk, village):
    client.force_login(clerk)
    job_url = upload(client, csv_bytes(family())).url
    client.post(job_url, {"confirm": "1"})
    finished_at = ImportJob.objects.get().finished_at

    response = client.post(job_url, {"confirm": "1"}, follow=True)

    assert response.status_code == 200
    assert "已提交过" in response.content.decode()
    assert ImportJob.objects.get().finished_at == finished_at
    assert Member.objects.count() == 4
    assert Member.history.count() == 4


def test_xlsx_upload_is_accepted(client, clerk, village):
    client.force_login(clerk)

    job_url = upload(client, xlsx_bytes(family()), name="花名册.xlsx").url
    client.post(job_url, {"confirm": "1"})

    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.DONE
    assert job.original_name == "花名册.xlsx"
    assert job.summary["preview"]["headers"][:2] == ["村代码", "户号"]
    assert Member.objects.count() == 4


# --- refusals ------------------------------------------------------------------------------

def test_invalid_file_lists_every_error_and_writes_nothing(client, clerk, village):
    client.force_login(clerk)
    rows = family()
    rows[1]["id_number"] = SPOUSE_ID[:-1] + ("0" if SPOUSE_ID[-1] != "0" else "1")  # bad checksum
    rows[2]["sex"] = "女"  # the son's ID says male

    job_url = upload(client, csv_bytes(rows)).url

    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.INVALID
    assert [(e["row"], e["column"]) for e in job.errors] == [(3, "id_number"), (4, "sex")]
    assert job.errors[1]["value"] == "女"
    page = client.get(job_url)
    html = page.content.decode()
    assert "确认导入" not in html
    for header in ("行", "列", "值", "原因"):
        assert f"<th>{header}</th>" in html or f'<th class="num">{header}</th>' in html
    assert rows[1]["id_number"] in html
    assert "性别与身份证号不符" in html

    client.post(job_url, {"confirm": "1"})  # confirming an invalid job does nothing

    assert ImportJob.objects.get().status == ImportJob.Status.INVALID
    assert nothing_written()


def test_rows_of_another_township_are_refused_for_a_clerk(client, clerk, village, other_village):
    client.force_login(clerk)
    rows = family()
    rows[3]["village_code"] = other_village.code  # H002 lives in the other township

    job_url = upload(client, csv_bytes(rows)).url

    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.INVALID
    assert [(e["row"], e["column"], e["value"], e["reason"]) for e in job.errors] == [
        (5, "village_code", other_village.code, "该村不属于您的乡镇，不能导入")]
    client.post(job_url, {"confirm": "1"})
    assert nothing_written()


def test_an_administrator_imports_for_any_township(client, users_by_role, village, other_village):
    admin = users_by_role[Role.ADMINISTRATOR]
    client.force_login(admin)
    rows = family()
    rows[3]["village_code"] = other_village.code

    job_url = upload(client, csv_bytes(rows)).url
    client.post(job_url, {"confirm": "1"})

    job = ImportJob.objects.get()
    assert job.township is None
    assert job.status == ImportJob.Status.DONE
    assert Household.objects.get(number="H002").village == other_village


def test_a_file_over_the_size_limit_is_refused(client, clerk, village, settings):
    settings.ROSTER_UPLOAD_MAX_BYTES = 100
    client.force_login(clerk)

    response = upload(client, csv_bytes(family()))

    assert response.status_code == 200
    assert "文件太大" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_file_of_another_type_is_refused(client, clerk, village):
    client.force_login(clerk)

    response = upload(client, b"hello", name="roster.txt")

    assert response.status_code == 200
    assert "只能上传 CSV 或 XLSX 文件" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_an_empty_file_is_refused_with_words(client, clerk, village):
    client.force_login(clerk)

    job_url = upload(client, b"village_code,household_no\n").url

    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.INVALID
    assert "缺少必需的列" in client.get(job_url).content.decode()
    assert nothing_written()


# --- scoping of every view -----------------------------------------------------------------

def job_urls(job):
    return [
        ("get", reverse("enrollment:roster_import_detail", args=[job.pk])),
        ("post", reverse("enrollment:roster_import_detail", args=[job.pk])),
        ("get", reverse("enrollment:roster_import_progress", args=[job.pk])),
    ]


PLAIN_URLS = [
    ("get", "enrollment:roster_import"),
    ("post", "enrollment:roster_import"),
    ("get", "enrollment:roster_export"),
    ("get", "enrollment:enrollment_export"),
]


def test_anonymous_is_sent_to_login_everywhere(client, clerk, township):
    job = make_job(clerk, township)
    urls = [(m, reverse(name)) for m, name in PLAIN_URLS] + job_urls(job)
    for method, url in urls:
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response.url.startswith("/login/"), url
    assert ImportJob.objects.get().status == ImportJob.Status.READY


def test_a_facility_clerk_is_refused_everywhere(client, users_by_role, clerk, township):
    job = make_job(clerk, township)
    client.force_login(users_by_role[Role.FACILITY_CLERK])
    urls = [(m, reverse(name)) for m, name in PLAIN_URLS] + job_urls(job)
    for method, url in urls:
        assert getattr(client, method)(url).status_code == 403, url
    assert ImportJob.objects.count() == 1
    assert nothing_written()


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.AUDITOR])
def test_county_roles_without_import_may_export_but_not_import(client, users_by_role, role):
    client.force_login(users_by_role[role])
    assert client.get(reverse("enrollment:roster_import")).status_code == 403
    assert client.get(reverse("enrollment:roster_export")).status_code == 200
    assert client.get(reverse("enrollment:enrollment_export")).status_code == 200


def test_another_townships_job_is_not_found(client, clerk, other_clerk, other_township, village):
    job = make_job(other_clerk, other_township)
    client.force_login(clerk)
    for method, url in job_urls(job):
        assert getattr(client, method)(url).status_code == 404, url
    job.refresh_from_db()
    assert job.status == ImportJob.Status.READY
    assert nothing_written()
    assert job not in client.get(reverse("enrollment:roster_import")).context["jobs"]


def test_the_job_list_shows_own_township_only_and_all_to_an_administrator(
        client, clerk, other_clerk, township, other_township, users_by_role):
    mine = make_job(clerk, township)
    theirs = make_job(other_clerk, other_township)

    client.force_login(clerk)
    assert list(client.get(reverse("enrollment:roster_import")).context["jobs"]) == [mine]
    client.force_login(users_by_role[Role.ADMINISTRATOR])
    assert set(client.get(reverse("enrollment:roster_import")).context["jobs"]) == {mine, theirs}
    assert client.get(reverse("enrollment:roster_import_detail", args=[theirs.pk])).status_code == 200


def test_progress_endpoint_reports_the_job(client, clerk, village):
    client.force_login(clerk)
    job_url = upload(client, csv_bytes(family())).url
    job = ImportJob.objects.get()
    progress_url = reverse("enrollment:roster_import_progress", args=[job.pk])

    assert client.get(progress_url).json() == {
        "status": "ready", "status_display": "待确认", "done": 0, "total": 4, "percent": 0,
        "finished": False, "interrupted": False}
    client.post(job_url, {"confirm": "1"})
    assert client.get(progress_url).json() == {
        "status": "done", "status_display": "已完成", "done": 4, "total": 4, "percent": 100,
        "finished": True, "interrupted": False}


def test_many_households_in_one_file(client, clerk, village):
    """Every member of a 60-row file arrives (each household its own head)."""
    client.force_login(clerk)
    rows = []
    for n in range(60):
        head = make_resident_id("420102", date(1960 + n % 30, 1 + n % 12, 1 + n % 28),
                                100 + n, "M" if n % 2 else "F")
        rows.append(person(head, f"成员{n}", "户主", household_no=f"H{n:03d}", head=head))
    job_url = upload(client, csv_bytes(rows)).url
    client.post(job_url, {"confirm": "1"})
    assert Member.objects.count() == 60
    assert Enrollment.objects.filter(year=YEAR).count() == 60


# --- issue 14: the columns, the template, and thousands of errors summarised ------------------

def test_import_page_lists_the_columns_and_offers_templates(client, clerk):
    client.force_login(clerk)
    html = client.get(reverse("enrollment:roster_import")).content.decode()
    for header in ("村代码", "household_no", "身份证号", "与户主关系", "收据号"):
        assert header in html
    assert reverse("enrollment:roster_template", args=["xlsx"]) in html
    assert reverse("enrollment:roster_template", args=["csv"]) in html
    assert "按身份证号自动填写" in html


def test_templates_hold_the_contract_header_row_and_import_once_filled(client, clerk, village):
    from io import BytesIO

    from openpyxl import load_workbook

    from tests.enrollment.roster_data import EXPORT_HEADERS as ZH_HEADERS

    client.force_login(clerk)
    response = client.get(reverse("enrollment:roster_template", args=["csv"]))
    assert response["Content-Disposition"] == 'attachment; filename="roster-template.csv"'
    text = response.content.decode("utf-8-sig")
    assert text.splitlines() == [",".join(ZH_HEADERS)]
    response = client.get(reverse("enrollment:roster_template", args=["xlsx"]))
    sheet = load_workbook(BytesIO(response.content)).active
    assert [cell.value for cell in sheet[1]] == ZH_HEADERS
    assert sheet["E2"].number_format == "@"  # the ID column stays text
    assert client.get(reverse("enrollment:roster_template", args=["pdf"])).status_code == 400
    data = text.encode("utf-8-sig") + csv_bytes(family()).split(b"\n", 1)[1]
    assert upload(client, data).status_code == 302
    assert ImportJob.objects.get().status == ImportJob.Status.READY


def test_thousands_of_one_mistake_are_summarised_then_listed_up_to_a_cap(client, clerk, village):
    from tests.enrollment.roster_data import many

    client.force_login(clerk)
    rows = [{**row, "contribution": "300.00"} for row in many(260)]
    rows[0] = {**rows[0], "name": ""}
    job_url = upload(client, csv_bytes(rows)).url
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.INVALID
    assert job.summary["groups"][0]["count"] == 260
    assert job.summary["groups"][0]["rows"] == [2, 3, 4, 5, 6]
    page = client.get(job_url)
    html = page.content.decode()
    assert [g["count"] for g in page.context["groups"]] == [260, 1]
    assert "按原因汇总" in html and "2、3、4、5、6 …" in html
    assert len(page.context["errors"]) == 200
    assert "另有 61 处未逐行列出" in html
