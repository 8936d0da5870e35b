"""The admin: registers load, places and facilities import/export, enrollment records are never deleted."""
from datetime import date

import pytest
import tablib
from django.urls import NoReverseMatch, reverse

from accounts.models import Role
from enrollment.admin_resources import EnrollmentAdminResource
from facilities.models import Facility
from facilities.resources import FacilityResource
from places.models import Township, Village, VillagePopulation
from places.resources import TownshipAdminResource, VillageAdminResource, VillagePopulationAdminResource
from tests.factories import EnrollmentFactory, HouseholdFactory, MemberFactory, UserFactory, VillagePopulationFactory

REGISTERS = [
    "places/township", "places/village", "places/villagepopulation", "enrollment/household",
    "enrollment/member", "enrollment/enrollment", "facilities/facility",
]
IMPORTABLE = ["places/township", "places/village", "places/villagepopulation", "facilities/facility"]


@pytest.fixture
def administrator(db):
    return UserFactory(username="root", role=Role.ADMINISTRATOR, is_staff=True, is_superuser=True)


@pytest.fixture
def records(village, facility):
    VillagePopulationFactory(village=village, year=2026, population=120)
    household = HouseholdFactory(village=village, number="H001")
    member = MemberFactory(household=household, name="王小明")
    household.head = member
    household.save()
    enrollment = EnrollmentFactory(member=member, year=2026)
    return {"household": household, "member": member, "enrollment": enrollment, "facility": facility}


@pytest.fixture
def admin_client(client, administrator):
    client.force_login(administrator)
    return client


@pytest.mark.parametrize("register", REGISTERS)
def test_changelists_load_for_an_administrator(admin_client, records, register):
    response = admin_client.get(f"/admin/{register}/")
    assert response.status_code == 200
    assert "导出" in response.content.decode() or "Export" in response.content.decode()


@pytest.mark.parametrize("register", IMPORTABLE)
def test_import_pages_exist_for_places_and_facilities(admin_client, register):
    response = admin_client.get(f"/admin/{register}/import/")
    assert response.status_code == 200
    assert 'name="import_file"' in response.content.decode()


@pytest.mark.parametrize("register", ["enrollment/household", "enrollment/member", "enrollment/enrollment"])
def test_enrollment_records_have_export_but_no_import(admin_client, register):
    assert admin_client.get(f"/admin/{register}/export/").status_code == 200
    with pytest.raises(NoReverseMatch):
        reverse(f"admin:{register.replace('/', '_')}_import")


def test_the_admin_refuses_an_export_too_big_for_a_request(admin_client, records, settings):
    """Above ADMIN_EXPORT_MAX_ROWS the admin says to filter or to use the export page (its
    background jobs), and writes no file; a filtered export within the limit is written."""
    from enrollment.models import Member

    MemberFactory(household=records["member"].household, name="李四")
    settings.ADMIN_EXPORT_MAX_ROWS = 1
    data = {"format": "1", "resource": "0", "memberadminresource_name": "on", "memberadminresource_id_number": "on"}
    response = admin_client.post("/admin/enrollment/member/export/", data)
    page = response.content.decode()
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    assert f"要导出 {Member.objects.count()} 条，超过后台直接导出的上限 1 条" in page
    response = admin_client.post("/admin/enrollment/member/export/?q=%E6%9D%8E%E5%9B%9B", data)  # q=李四
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]


@pytest.mark.parametrize("key", ["household", "member", "enrollment"])
def test_paid_and_registered_records_are_never_deleted_and_keep_history(admin_client, records, key):
    obj = records[key]
    base = f"/admin/enrollment/{obj._meta.model_name}/{obj.pk}"
    assert admin_client.get(f"{base}/delete/").status_code == 403
    assert admin_client.post(f"{base}/delete/", {"post": "yes"}).status_code == 403
    assert type(obj).objects.filter(pk=obj.pk).exists()
    assert admin_client.get(f"{base}/change/").status_code == 200
    assert admin_client.get(f"{base}/history/").status_code == 200


def test_members_and_enrollments_are_read_only_in_the_admin(admin_client, records):
    member = records["member"]
    response = admin_client.post(f"/admin/enrollment/member/{member.pk}/change/", {"name": "改名"})
    assert response.status_code == 403
    member.refresh_from_db()
    assert member.name == "王小明"


def test_non_staff_users_cannot_reach_the_admin(client, clerk):
    client.force_login(clerk)
    response = client.get("/admin/enrollment/household/")
    assert response.status_code == 302 and "/admin/login/" in response.url


def test_facility_page_shows_history(admin_client, records):
    facility = records["facility"]
    assert admin_client.get(f"/admin/facilities/facility/{facility.pk}/history/").status_code == 200


# --- resources behind the import and export pages -----------------------------------------------


def test_places_resources_import_with_chinese_headers_and_update_by_code(township):
    townships = tablib.Dataset(headers=["乡镇代码", "乡镇名称"])
    townships.append(["420102100", "城关街道"])
    townships.append(["420102300", "新港镇"])
    villages = tablib.Dataset(headers=["乡镇代码", "村代码", "村名称"])
    villages.append(["420102300", "420102300201", "港口村"])
    populations = tablib.Dataset(headers=["村代码", "年度", "农业人口"])
    populations.append(["420102300201", "2026", "450"])

    for resource, dataset in [(TownshipAdminResource(), townships), (VillageAdminResource(), villages),
                              (VillagePopulationAdminResource(), populations)]:
        result = resource.import_data(dataset, dry_run=False, raise_errors=True)
        assert not result.has_errors() and not result.has_validation_errors()

    assert sorted(Township.objects.values_list("code", "name")) == [("420102100", "城关街道"), ("420102300", "新港镇")]
    assert list(Village.objects.values_list("code", "township__code")) == [("420102300201", "420102300")]
    assert list(VillagePopulation.objects.values_list("village__code", "year", "population")) == [
        ("420102300201", 2026, 450)]

    populations = tablib.Dataset(headers=["村代码", "年度", "农业人口"])
    populations.append(["420102300201", "2026", "460"])
    VillagePopulationAdminResource().import_data(populations, dry_run=False, raise_errors=True)
    assert list(VillagePopulation.objects.values_list("population", flat=True)) == [460]


def test_village_with_unknown_township_is_refused_whole(db):
    villages = tablib.Dataset(headers=["乡镇代码", "村代码", "村名称"])
    villages.append(["420102999", "420102999201", "无名村"])
    result = VillageAdminResource().import_data(villages, dry_run=False)
    assert result.has_validation_errors() or result.has_errors()
    assert Village.objects.count() == 0


def test_facility_resource_exports_the_contract_columns_and_imports_them_again(township, facility):
    exported = FacilityResource().export()
    assert exported.headers == ["code", "name", "level", "township_code", "agreement_start", "agreement_end",
                                "status", "suspended_from", "suspension_reason", "bank_name", "bank_account"]
    assert list(exported[0]) == ["F001", "城关镇卫生院", "township", "420102100", "2026-01-01", "2026-12-31",
                                 "active", "", "", "", ""]

    changed = tablib.Dataset(headers=exported.headers)
    changed.append(["F001", "城关镇卫生院", "township", "420102100", "2026-01-01", "2027-12-31", "suspended",
                    "2026-06-01", "违规收费", "农村商业银行", "6230581100001234567"])
    result = FacilityResource().import_data(changed, dry_run=False, raise_errors=True)
    assert not result.has_validation_errors()
    facility.refresh_from_db()
    assert (facility.agreement_end, facility.status, facility.suspended_from) == (
        date(2027, 12, 31), "suspended", date(2026, 6, 1))
    assert (facility.bank_name, facility.bank_account) == ("农村商业银行", "6230581100001234567")
    assert [h.history_type for h in Facility.history.filter(code="F001").order_by("history_id")] == ["+", "~"]


def test_facility_import_refuses_a_bad_level_and_a_backwards_agreement(township):
    rows = tablib.Dataset(headers=["code", "name", "level", "township_code", "agreement_start", "agreement_end",
                                   "status"])
    rows.append(["F009", "某医院", "hospital", "420102100", "2026-01-01", "2026-12-31", "active"])
    rows.append(["F010", "某医院", "county", "420102100", "2026-12-31", "2026-01-01", "active"])
    result = FacilityResource().import_data(rows, dry_run=False)
    assert result.has_validation_errors()
    assert {row.number for row in result.invalid_rows} == {1, 2}
    assert Facility.objects.count() == 0


def test_enrollment_export_has_chinese_headers_and_exact_money(records):
    exported = EnrollmentAdminResource().export()
    assert exported.headers == ["年度", "户号", "姓名", "身份证号", "缴费金额", "缴费日期", "收据号", "缴费方式"]
    member = records["member"]
    receipt = records["enrollment"].receipt_no
    assert list(exported[0]) == ["2026", "H001", "王小明", member.id_number, "380.00", "2026-01-15", receipt,
                                 "个人缴纳"]


def test_facility_file_imports_through_the_admin_upload_preview_confirm(admin_client, township, administrator):
    from django.core.files.uploadedfile import SimpleUploadedFile

    page = admin_client.get("/admin/facilities/facility/import/")
    formats = dict((label, value) for value, label in page.context["form"].fields["format"].choices)
    data = ("code,name,level,township_code,agreement_start,agreement_end,status\n"
            "F201,城关镇中心卫生院,township,420102100,2026-01-01,2026-12-31,active\n").encode()
    preview = admin_client.post("/admin/facilities/facility/import/", {
        "resource": "0", "format": formats["csv"], "import_file": SimpleUploadedFile("f.csv", data, "text/csv")})
    assert preview.status_code == 200
    confirm = preview.context["confirm_form"]
    assert confirm is not None and Facility.objects.count() == 0  # the preview writes nothing

    done = admin_client.post("/admin/facilities/facility/process_import/", confirm.initial)
    assert done.status_code == 302
    facility = Facility.objects.get(code="F201")
    assert (facility.name, facility.township, facility.status) == ("城关镇中心卫生院", township, "active")
    assert [h.history_user for h in facility.history.all()] == [administrator]
