"""roster_import: the contract's roster file, all or nothing, every invalid row listed."""
from datetime import date
from decimal import Decimal

import pytest

from accounts.models import Role
from core.errors import NcmsError
from enrollment.models import Enrollment, Household, Member, Payer, Relation
from enrollment.roster import MANGLED_ID, RosterInvalid, RowError, roster_import
from enrollment.rules import FEMALE, MALE, make_resident_id
from tests.enrollment.roster_data import (
    EN_HEADERS,
    HEAD_ID,
    OTHER_HEAD_ID,
    SON_ID,
    SPOUSE_ID,
    VILLAGE,
    ZH_HEADERS,
    csv_bytes,
    family,
    person,
    xlsx_bytes,
)
from tests.factories import EnrollmentFactory, HouseholdFactory, MemberFactory

YEAR = 2026


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMINISTRATOR, username="admin")


def run(data, *, filename="roster.csv", **kwargs):
    return roster_import(data=data, filename=filename, year=kwargs.pop("year", YEAR), **kwargs)


def refused(data, *, filename="roster.csv", **kwargs) -> list[RowError]:
    before = snapshot()
    with pytest.raises(RosterInvalid) as caught:
        run(data, filename=filename, **kwargs)
    assert snapshot() == before, "a refused roster must write nothing"
    return caught.value.errors


def snapshot():
    return (Household.objects.count(), Member.objects.count(), Enrollment.objects.count(),
            Household.history.count(), Member.history.count(), Enrollment.history.count(),
            sorted(Member.objects.values_list("id_number", "name", "relation", "category", "phone")))


def one_error(data, **kwargs) -> RowError:
    errors = refused(data, **kwargs)
    assert len(errors) == 1, errors
    return errors[0]


# --- a valid roster -------------------------------------------------------------------------

def test_valid_roster_creates_households_members_enrollments_and_history(village, admin):
    summary = run(csv_bytes(family()), user=admin)

    assert summary.as_dict() == {
        "rows": 4, "households_created": 2, "households_updated": 0, "members_created": 4,
        "members_updated": 0, "enrollments_created": 4, "unchanged_rows": 0,
    }
    h1 = Household.objects.get(number="H001")
    assert (h1.village, h1.card_number, h1.phone, h1.head.id_number) == (village, "HZH001", "13800000001", HEAD_ID)
    assert sorted(h1.members.values_list("id_number", "name", "relation", "sex", "birth_date")) == sorted([
        (HEAD_ID, "张大山", Relation.HEAD, MALE, date(1970, 3, 5)),
        (SPOUSE_ID, "李秀英", Relation.SPOUSE, FEMALE, date(1972, 8, 19)),
        (SON_ID, "张小明", Relation.SON, MALE, date(2001, 2, 28)),
    ])
    h2 = Household.objects.get(number="H002")
    assert (h2.head.id_number, h2.head.category, h2.card_number) == (OTHER_HEAD_ID, "dibao", "HZH002")

    enrollments = {e.member.id_number: e for e in Enrollment.objects.select_related("member")}
    assert set(enrollments) == {HEAD_ID, SPOUSE_ID, SON_ID, OTHER_HEAD_ID}
    head = enrollments[HEAD_ID]
    assert (head.year, head.contribution, head.receipt_no, head.paid_date, head.payer, head.recorded_by) == (
        YEAR, Decimal("380.00"), f"R-{HEAD_ID[-6:]}", date(2026, 1, 5), Payer.SELF, admin)
    assert enrollments[OTHER_HEAD_ID].payer == Payer.CIVIL_AFFAIRS  # 低保: civil affairs pays

    # history: one "+" row per created object, by the importing user
    assert Household.history.count() == 2 and Member.history.count() == 4 and Enrollment.history.count() == 4
    for model in (Household, Member, Enrollment):
        assert set(model.history.values_list("history_type", "history_user")) == {("+", admin.pk)}
    assert Household.history.get(number="H001").head_id == h1.head_id
    # the pre-allocated ids agree with the database's own sequence: an ORM insert still works
    extra = MemberFactory(household=h1, relation=Relation.OTHER)
    assert extra.pk > max(Member.objects.exclude(pk=extra.pk).values_list("pk", flat=True))


@pytest.mark.parametrize("category, payer", [
    ("普通", Payer.SELF), ("五保", Payer.CIVIL_AFFAIRS), ("低保", Payer.CIVIL_AFFAIRS),
    ("贫困", Payer.CIVIL_AFFAIRS), ("poor", Payer.CIVIL_AFFAIRS), ("ordinary", Payer.SELF),
])
def test_payer_follows_category(village, category, payer):
    run(csv_bytes([person(HEAD_ID, "张大山", "户主", category=category)]))
    assert Enrollment.objects.get().payer == payer


def test_member_without_contribution_gets_no_enrollment(village):
    rows = family()
    rows[2] = person(SON_ID, "张小明", "子", contribution="")
    summary = run(csv_bytes(rows))
    assert (summary.members_created, summary.enrollments_created) == (4, 3)
    assert not Enrollment.objects.filter(member__id_number=SON_ID).exists()


def test_reimport_of_the_same_file_changes_nothing(village, admin):
    data = csv_bytes(family())
    run(data, user=admin)
    before = snapshot()

    summary = run(data, user=admin)

    assert summary.as_dict() == {
        "rows": 4, "households_created": 0, "households_updated": 0, "members_created": 0,
        "members_updated": 0, "enrollments_created": 0, "unchanged_rows": 4,
    }
    assert snapshot() == before  # no new rows, no new history


def test_changed_row_updates_the_member_with_history(village, admin, make_user):
    run(csv_bytes(family()), user=admin)
    other = make_user(Role.ADMINISTRATOR, username="admin2")
    rows = family()
    rows[1] = person(SPOUSE_ID, "李秀兰", "配偶", category="低保", phone="13900000002")

    summary = run(csv_bytes(rows), user=other)

    assert (summary.members_updated, summary.members_created, summary.unchanged_rows) == (1, 0, 3)
    spouse = Member.objects.get(id_number=SPOUSE_ID)
    assert (spouse.name, spouse.category, spouse.phone) == ("李秀兰", "dibao", "13900000002")
    changes = list(spouse.history.order_by("history_id").values_list("history_type", "name", "history_user"))
    assert changes == [("+", "李秀英", admin.pk), ("~", "李秀兰", other.pk)]
    assert Member.history.count() == 5 and Household.history.count() == 2


def test_new_member_added_to_an_existing_household(village):
    run(csv_bytes(family()))
    daughter = make_resident_id("420102", date(2005, 6, 1), 14, FEMALE)
    summary = run(csv_bytes([person(daughter, "张小红", "女")]))  # the head need not be listed again
    assert (summary.members_created, summary.enrollments_created, summary.unchanged_rows) == (1, 1, 0)
    assert Member.objects.get(id_number=daughter).household.number == "H001"


def test_dry_run_reports_and_writes_nothing(village):
    before = snapshot()
    summary = run(csv_bytes(family()), dry_run=True)
    assert (summary.rows, summary.households_created, summary.members_created, summary.enrollments_created) == (4, 2, 4, 4)
    assert snapshot() == before


def test_progress_is_reported_up_to_the_total(village):
    calls = []
    run(csv_bytes(family()), progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (4, 4)
    assert all(total == 4 and 0 <= done <= 4 for done, total in calls)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


# --- file formats, headers and spellings ----------------------------------------------------

def test_utf8_with_bom_and_chinese_headers(village):
    data = b"\xef\xbb\xbf" + csv_bytes(family(), headers=ZH_HEADERS)
    assert run(data).members_created == 4


def test_gbk_encoded_csv_is_accepted(village):
    data = csv_bytes(family(), headers=ZH_HEADERS, encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    run(data)
    assert Member.objects.get(id_number=HEAD_ID).name == "张大山"
    assert Member.objects.get(id_number=OTHER_HEAD_ID).category == "dibao"


def test_xlsx_is_accepted(village):
    summary = run(xlsx_bytes(family()), filename="花名册.xlsx")
    assert (summary.members_created, summary.enrollments_created) == (4, 4)
    assert Enrollment.objects.get(member__id_number=HEAD_ID).contribution == Decimal("380.00")


def test_xlsx_with_numeric_money_date_and_village_cells(village):
    import io

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(ZH_HEADERS)
    sheet.append([int(VILLAGE), "H001", HEAD_ID, "张大山", HEAD_ID, "男", date(1970, 3, 5), "户主", "普通",
                  13800000001, 380, date(2026, 1, 5), "R1"])
    out = io.BytesIO()
    book.save(out)
    run(out.getvalue(), filename="r.xlsx")
    enrollment = Enrollment.objects.get()
    assert (enrollment.contribution, enrollment.paid_date) == (Decimal("380.00"), date(2026, 1, 5))
    assert Household.objects.get().phone == "13800000001"


def test_english_headers_and_english_spellings(village):
    daughter = make_resident_id("420102", date(2004, 4, 4), 15, FEMALE)
    rows = [
        person(HEAD_ID, "Zhang", "head", sex="M", category="ordinary"),
        person(SPOUSE_ID, "Li", "spouse", sex="F", category="wubao"),
        person(SON_ID, "Ming", "child", sex="M", category="dibao"),
        person(daughter, "Hong", "child", sex="F", category="poor"),
    ]
    run(csv_bytes(rows, headers=EN_HEADERS))
    got = dict(Member.objects.values_list("id_number", "relation"))
    assert got == {HEAD_ID: "head", SPOUSE_ID: "spouse", SON_ID: "son", daughter: "daughter"}
    assert dict(Member.objects.values_list("id_number", "category")) == {
        HEAD_ID: "ordinary", SPOUSE_ID: "wubao", SON_ID: "dibao", daughter: "poor"}


def test_chinese_child_relations(village):
    daughter = make_resident_id("420102", date(2004, 4, 4), 15, FEMALE)
    rows = family()[:3] + [person(daughter, "张小红", "女")]
    run(csv_bytes(rows))
    assert Member.objects.get(id_number=SON_ID).relation == Relation.SON
    assert Member.objects.get(id_number=daughter).relation == Relation.DAUGHTER


def test_lower_case_x_in_id_is_normalised(village):
    head = next(make_resident_id("420102", date(1970, 3, 5), n, MALE) for n in range(100)
                if make_resident_id("420102", date(1970, 3, 5), n, MALE).endswith("X"))
    run(csv_bytes([person(head.lower(), "张大山", "户主", head=head.lower())]))
    assert Member.objects.get().id_number == head
    assert Household.objects.get().head.id_number == head


# --- refusals: every bad-input kind, with row, column, value, reason --------------------------

def bad(index, **overrides):
    """family() with row `index` (0-based data row, spreadsheet row index + 2) changed."""
    rows = family()
    rows[index] = {**rows[index], **overrides}
    return csv_bytes(rows)


BAD_CHECKSUM = SPOUSE_ID[:17] + ("0" if SPOUSE_ID[17] != "0" else "1")


@pytest.mark.parametrize("index, overrides, column, value, reason", [
    (1, {"id_number": BAD_CHECKSUM}, "id_number", BAD_CHECKSUM,
     f"身份证号校验码错误（最后一位应为{SPOUSE_ID[17]}），请核对号码"),
    (1, {"id_number": "420102199002301234"}, "id_number", "420102199002301234", "身份证号中的出生日期不存在"),
    (1, {"sex": "男"}, "sex", "男", "性别与身份证号不符：按身份证号应为女"),
    (1, {"birth_date": "1972-08-20"}, "birth_date", "1972-08-20", "出生日期与身份证号不符：按身份证号应为1972-08-19"),
    (1, {"birth_date": "1972-02-30"}, "birth_date", "1972-02-30", "出生日期不是有效日期，应写成 1990-01-31 的样式"),
    (3, {"village_code": "420102999999"}, "village_code", "420102999999", "村代码不存在：请核对，或先导入乡镇和村"),
    (3, {"village_code": "4201"}, "village_code", "4201", "村代码应为12位数字"),
    (1, {"receipt_no": ""}, "receipt_no", "", "填写了缴费金额时，收据号必填"),
    (1, {"paid_date": ""}, "paid_date", "", "填写了缴费金额时，缴费日期必填"),
    (1, {"paid_date": "2027-01-02"}, "paid_date", "2027-01-02", "缴费日期晚于2026年度：2026年度的缴费日期不能晚于2026-12-31"),
    (1, {"paid_date": "2026-02-30"}, "paid_date", "2026-02-30", "缴费日期不是有效日期，应写成 2026-01-05 的样式"),
    (1, {"contribution": "三百八"}, "contribution", "三百八", "缴费金额不正确：不是有效的金额"),
    (1, {"contribution": "380.005"}, "contribution", "380.005", "缴费金额不正确：金额最多两位小数"),
    (1, {"contribution": "-1"}, "contribution", "-1", "缴费金额不能为负数"),
    (1, {"contribution": "", "paid_date": "2026-01-05", "receipt_no": "R9"}, "contribution", "",
     "填写了缴费日期或收据号，但缴费金额是空的"),
    (1, {"id_number": "4.21127E+17"}, "id_number", "4.21127E+17", MANGLED_ID),
    (1, {"sex": "X"}, "sex", "X", "性别应为 男 或 女（或 M、F）"),
    (1, {"relation": "表亲"}, "relation", "表亲", "与户主关系应为 户主、配偶、子、女、父母、孙子女、其他 之一"),
    (1, {"category": "特困"}, "category", "特困", "人员类别应为 普通、五保、低保、贫困 之一"),
    (1, {"name": ""}, "name", "", "姓名不能为空"),
    (1, {"name": "张" * 31}, "name", "张" * 31, "姓名最长30个字"),
    (1, {"phone": "call me"}, "phone", "call me", "联系电话只能填数字（最多20位）"),
    (1, {"id_number": "42010219720819"}, "id_number", "42010219720819", "身份证号应为18位，实际为14位"),
])
def test_each_bad_cell_is_refused_with_row_column_value_reason(village, index, overrides, column, value, reason):
    error = one_error(bad(index, **overrides))
    assert error == RowError(index + 2, column, value, reason)


def test_impossible_birth_date_in_id_compact_form(village):
    error = one_error(bad(1, birth_date="19900230"))
    assert (error.row, error.column, error.value) == (3, "birth_date", "19900230")
    assert error.reason == "出生日期不是有效日期，应写成 1990-01-31 的样式"


def test_a_child_born_today_in_the_county_is_imported_while_utc_is_still_yesterday(village, clock):
    """00:30 on 1 March in the county is 16:30 on 28 February in UTC, and on a machine clock in UTC."""
    clock("2027-03-01 00:30")
    newborn = make_resident_id("420102", date(2027, 3, 1), 14, MALE)
    rows = family() + [person(newborn, "张小宝", "子", paid_date="2027-03-01")]
    assert run(csv_bytes(rows), year=2027).members_created == 5
    assert Member.objects.get(id_number=newborn).birth_date == date(2027, 3, 1)


def test_error_prints_as_the_contract_says(village):
    error = one_error(bad(1, sex="男"))
    assert str(error) == "第3行 sex「男」：性别与身份证号不符：按身份证号应为女"


def test_duplicate_id_within_the_file_lists_both_rows(village):
    rows = family() + [person(SPOUSE_ID, "李秀英", "配偶", household_no="H002", head=OTHER_HEAD_ID)]
    errors = refused(csv_bytes(rows))
    assert errors == [
        RowError(3, "id_number", SPOUSE_ID, "身份证号在文件中重复出现（第3、6行）"),
        RowError(6, "id_number", SPOUSE_ID, "身份证号在文件中重复出现（第3、6行）"),
    ]


def test_id_already_in_another_household_in_the_database(village):
    MemberFactory(id_number=SPOUSE_ID, sex=FEMALE, household=HouseholdFactory(number="H900", village=village))
    error = one_error(csv_bytes(family()))
    assert error == RowError(3, "id_number", SPOUSE_ID, "一人只能在一个家庭户参合：此人已登记在户号H900")


def test_head_id_not_a_member_row_of_the_household(village):
    stranger = make_resident_id("420102", date(1960, 1, 1), 31, MALE)
    rows = [person(SPOUSE_ID, "李秀英", "配偶", head=stranger), person(SON_ID, "张小明", "子", head=stranger)]
    error = one_error(csv_bytes(rows))
    assert (error.row, error.column, error.value) == (2, "head_id_number", stranger)
    assert "本户没有户主行" in error.reason


def test_head_row_whose_id_differs_from_head_id_number(village):
    rows = family()
    rows[0] = person(HEAD_ID, "张大山", "户主", head=SPOUSE_ID)
    rows[1] = person(SPOUSE_ID, "李秀英", "配偶", head=SPOUSE_ID)
    rows[2] = person(SON_ID, "张小明", "子", head=SPOUSE_ID)
    error = one_error(csv_bytes(rows))
    assert error == RowError(2, "head_id_number", SPOUSE_ID, "户主身份证号与本户“户主”行的身份证号不一致")


def test_two_heads_in_one_household(village):
    rows = family()
    rows[1] = person(SPOUSE_ID, "李秀英", "户主")
    errors = refused(csv_bytes(rows))
    assert [(e.row, e.column) for e in errors] == [(2, "relation"), (3, "relation")]
    assert errors[0].reason == "一户只能有一名户主（本户第2、3行都填了户主）"


def test_household_rows_must_agree_on_village(village, other_village):
    error = one_error(bad(2, village_code=other_village.code))
    assert error == RowError(4, "village_code", other_village.code, "同一户的村代码必须一致（本户第2行为420102100201）")


def test_mangled_id_in_numeric_xlsx_cell(village):
    errors = refused(xlsx_bytes(family(), numeric_ids=True), filename="r.xlsx")
    id_errors = [e for e in errors if e.column == "身份证号"]
    assert [e.row for e in id_errors] == [2, 3, 4, 5]
    assert id_errors[0].value.startswith("4.20102197") and id_errors[0].value.endswith("E+17")
    assert id_errors[0].reason == MANGLED_ID
    assert "设置为文本" in MANGLED_ID


def test_18_digit_integer_xlsx_cell_is_refused_as_mangled(village):
    import io

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(ZH_HEADERS)
    sheet.append([VILLAGE, "H001", HEAD_ID, "张大山", int(HEAD_ID), "男", "1970-03-05", "户主", "普通",
                  "", "", "", ""])
    out = io.BytesIO()
    book.save(out)
    error = one_error(out.getvalue(), filename="r.xlsx")
    assert (error.row, error.column, error.reason) == (2, "身份证号", MANGLED_ID)


def test_every_invalid_row_is_listed_not_just_the_first(village):
    rows = family()
    rows[1] = {**rows[1], "sex": "男"}
    rows[2] = {**rows[2], "contribution": "abc"}
    rows[3] = {**rows[3], "village_code": "420102999999"}
    errors = refused(csv_bytes(rows))
    assert [(e.row, e.column) for e in errors] == [(3, "sex"), (4, "contribution"), (5, "village_code")]


def test_several_errors_in_one_row_are_all_listed(village):
    errors = refused(bad(1, sex="男", birth_date="1972-08-20", category="x"))
    assert [(e.row, e.column) for e in errors] == [(3, "sex"), (3, "birth_date"), (3, "category")]


def test_member_already_enrolled_for_the_year_cannot_be_changed_by_import(village):
    run(csv_bytes(family()))
    rows = family()
    rows[1] = {**rows[1], "receipt_no": "OTHER-1", "paid_date": "2026-02-01"}
    error = one_error(csv_bytes(rows))
    assert (error.row, error.column, error.value) == (3, "contribution", "380.00")
    assert "已登记缴费" in error.reason
    assert Enrollment.objects.filter(member__id_number=SPOUSE_ID).count() == 1


def test_existing_enrollment_of_another_year_does_not_block(village):
    member = MemberFactory(id_number=HEAD_ID, sex=MALE, household=HouseholdFactory(number="H001", village=village))
    EnrollmentFactory(member=member, year=2025, paid_date=date(2025, 1, 1))
    summary = run(csv_bytes(family()))
    assert summary.enrollments_created == 4
    assert sorted(Enrollment.objects.filter(member=member).values_list("year", flat=True)) == [2025, 2026]


def test_household_moved_to_another_village_is_refused(village, other_village):
    HouseholdFactory(number="H002", village=other_village)
    error = one_error(csv_bytes(family()))
    assert error == RowError(5, "village_code", VILLAGE, "该户号已登记在其他村，户号在全县唯一，不能改到别的村")


def test_township_clerk_may_only_import_own_villages(village, other_village, township):
    rows = family()
    rows[3] = {**rows[3], "village_code": other_village.code}
    error = one_error(csv_bytes(rows), township=township)
    assert error == RowError(5, "village_code", other_village.code, "该村不属于您的乡镇，不能导入")


@pytest.mark.parametrize("headers, reason", [
    (["村代码", "户号", "户主身份证号", "姓名", "身份证", "性别", "出生日期", "与户主关系", "人员类别"],
     "无法识别的列名；可用的列名见花名册模板（中文或英文均可）"),
])
def test_unknown_header_is_refused(village, headers, reason):
    errors = refused(csv_bytes([], headers=headers) + b"420102100201,H1,x,x,x,x,x,x,x\n")
    assert errors[0] == RowError(1, "身份证", "身份证", reason)
    assert errors[1].reason == "缺少必需的列：身份证号（id_number）"


def test_missing_required_headers_are_named(village):
    data = csv_bytes([], headers=["village_code", "household_no", "name"]) + b"420102100201,H1,x\n"
    errors = refused(data)
    assert errors == [RowError(1, "", "", "缺少必需的列：户主身份证号（head_id_number）、身份证号（id_number）、"
                                          "与户主关系（relation）、人员类别（category）")]


def test_duplicate_header_is_refused(village):
    data = csv_bytes(family(), headers=ZH_HEADERS).replace("收据号\n".encode(), "收据号,name\n".encode(), 1)
    errors = refused(data)  # the file has both 姓名 and name
    assert errors == [RowError(1, "name", "name", "与“姓名”是同一列，重复了")]


def test_empty_file_is_refused(village):
    assert refused(b"") == [RowError(0, "", "", "文件是空的")]


def test_header_only_file_is_refused(village):
    errors = refused(csv_bytes([]))
    assert errors == [RowError(0, "", "", "文件中没有数据行：第1行是表头，成员从第2行开始填写")]


def test_not_a_spreadsheet_is_refused(village):
    errors = refused(b"PK\x03\x04garbage", filename="r.xlsx")
    assert errors[0].row == 0 and "XLSX" in errors[0].reason


def test_blank_rows_keep_spreadsheet_row_numbers(village):
    rows = family()
    rows[3] = {**rows[3], "sex": "男"}
    data = csv_bytes(rows[:2]) + b",,,,,,,,,,,,\n" + csv_bytes(rows[2:]).split(b"\n", 1)[1]
    error = one_error(data)
    assert (error.row, error.column) == (6, "sex")  # header 1, rows 2-3, blank 4, rows 5-6


def test_text_with_tabs_backslashes_and_quotes_is_stored_verbatim(village):
    rows = family()
    rows[1] = person(SPOUSE_ID, 'Li\\"秀\t英', "配偶", receipt_no="R\\1\\N")
    run(csv_bytes(rows))
    assert Member.objects.get(id_number=SPOUSE_ID).name == 'Li\\"秀\t英'
    assert Member.history.get(id_number=SPOUSE_ID).name == 'Li\\"秀\t英'
    assert Enrollment.objects.get(member__id_number=SPOUSE_ID).receipt_no == "R\\1\\N"


def test_a_few_thousand_rows_with_progress_and_reimport(village):
    from tests.enrollment.roster_data import many

    data = csv_bytes(many(2500))
    calls = []
    summary = run(data, progress=lambda done, total: calls.append((done, total)))
    assert (summary.households_created, summary.members_created, summary.enrollments_created) == (2500, 2500, 2500)
    assert len(calls) >= 4 and calls[-1] == (2500, 2500)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert Household.objects.filter(head__isnull=True).count() == 0
    assert Member.history.count() == 2500 and Enrollment.history.count() == 2500
    assert run(data).unchanged_rows == 2500
    assert Member.history.count() == 2500


# --- new rows written while the file is still being checked ---------------------------------

@pytest.fixture
def small_batches(monkeypatch):
    """New members go to the database every 3 rows (5,000 in production): a test file of a few
    dozen rows then crosses many batches, written (on PostgreSQL by the helper thread) while the
    next rows are validated."""
    from enrollment.roster import importer as roster

    monkeypatch.setattr(roster, "STREAM_CHUNK", 3)


def test_rows_written_in_batches_give_the_same_result(village, admin, small_batches):
    from tests.enrollment.roster_data import many

    rows = family() + many(20)
    summary = run(csv_bytes(rows), user=admin)

    assert (summary.households_created, summary.members_created, summary.enrollments_created) == (22, 24, 24)
    assert Member.objects.count() == Member.history.count() == 24
    assert Enrollment.objects.count() == Enrollment.history.count() == 24
    assert set(Member.history.values_list("history_type", "history_user")) == {("+", admin.pk)}
    assert set(Enrollment.objects.values_list("recorded_by", flat=True)) == {admin.pk}
    # every household points at its own head, and every member at its household
    for household in Household.objects.all():
        assert household.head.household_id == household.pk
        assert household.head.relation == Relation.HEAD
    assert Member.objects.get(id_number=SON_ID).household.number == "H001"
    assert run(csv_bytes(rows), user=admin).unchanged_rows == 24


def test_a_row_refused_after_batches_were_written_leaves_nothing(village, admin, small_batches):
    from tests.enrollment.roster_data import many

    rows = many(20)
    rows[17]["sex"] = "男" if rows[17]["sex"] == "女" else "女"

    errors = refused(csv_bytes(rows), user=admin)

    assert [(e.row, e.column) for e in errors] == [(19, "sex")]


def test_an_id_repeated_after_its_batch_was_written_is_listed_not_a_conflict(village, small_batches):
    from tests.enrollment.roster_data import many

    rows = many(12)
    rows.append(dict(rows[0], household_no="H9999999"))

    errors = refused(csv_bytes(rows))

    assert {(e.row, e.column) for e in errors} >= {(2, "id_number"), (14, "id_number")}
    assert all("重复" in e.reason for e in errors if e.column == "id_number")


def test_a_member_registered_meanwhile_refuses_the_import_whole(village, small_batches, monkeypatch):
    """Someone adds the same person while the file is checked (here: the rows the import loaded
    miss them): the write fails on the unique ID, the import says so, nothing is kept."""
    from enrollment.roster import importer as roster
    from tests.enrollment.roster_data import many

    rows = many(10)
    taken = MemberFactory(household=HouseholdFactory(village=village, number="Z001"),
                          id_number=rows[7]["id_number"])
    loaded = roster._load_existing

    def missing_the_newcomer(household_nos, id_numbers, *, year):
        existing = loaded(household_nos, id_numbers, year=year)
        existing.members.pop(taken.id_number)
        return existing

    monkeypatch.setattr(roster, "_load_existing", missing_the_newcomer)
    before = snapshot()
    with pytest.raises(NcmsError) as caught:
        run(csv_bytes(rows))
    assert caught.value.code == "roster_conflict"
    assert snapshot() == before


def test_copy_text_is_plain_values_or_nothing():
    from datetime import datetime, timezone

    from enrollment.roster.writers import _copy_text

    at = datetime(2026, 1, 5, 8, 30, tzinfo=timezone.utc)
    assert _copy_text([(1, "王五", date(1970, 3, 5), Decimal("380.00"))], (at,)) == (
        "1\t王五\t1970-03-05\t380.00\t2026-01-05 08:30:00+00:00\n")
    for awkward in ("a\tb", "a\nb", "a\\b", "a\rb"):  # these need COPY's escapes: the row writer's job
        assert _copy_text([(1, awkward)], ()) is None
    assert _copy_text([(1, None)], ()) is None  # NULL
    assert _copy_text([(1, "a")], (None,)) is None
    assert _copy_text([(1, "a"), (2,)], ()) is None  # rows of different widths


def test_a_big_import_leaves_planner_statistics_for_what_it_wrote(village):
    """On PostgreSQL the import ANALYZEs the tables it filled (in its transaction): a query run
    right after it, such as quote_claims' lookups by member, is planned on real figures."""
    from django.db import connection

    from core.statistics import refresh_statistics
    from tests.enrollment.roster_data import many

    run(csv_bytes(many(1500)))

    if connection.vendor != "postgresql":
        assert refresh_statistics([("enrollment_member", ["id"], 1500)]) == []  # no planner statistics
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename, attname FROM pg_stats WHERE tablename IN"
                       " ('enrollment_household', 'enrollment_member', 'enrollment_enrollment')")
        analysed = set(cursor.fetchall())
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'enrollment_member'::regclass")
        assert cursor.fetchone()[0] == 1500
    assert {("enrollment_member", "id_number"), ("enrollment_enrollment", "member_id"),
            ("enrollment_enrollment", "year"), ("enrollment_household", "number")} <= analysed


@pytest.mark.parametrize("number", ["12345", "4201021002010000", "H0001"])
def test_a_roster_takes_any_household_number_unique_in_the_county(village, number):
    """The contract holds a roster's numbers to one rule, unique in the county: a county's own
    numbering (digits or letters) is imported as it is."""
    rows = family()[3:]
    rows[0] = {**rows[0], "household_no": number}
    assert run(csv_bytes(rows)).households_created == 1
    assert Household.objects.filter(number=number).exists()


def test_a_household_number_of_village_code_and_serial_or_with_letters_is_taken(village):
    rows = family()[3:] + [person(SON_ID, "张小明", "户主", household_no="4201021002010001", head=SON_ID)]
    assert run(csv_bytes(rows)).households_created == 2


def test_blank_sex_and_birth_date_come_from_the_id(village):
    rows = family()
    rows[1] = {**rows[1], "sex": "", "birth_date": ""}
    rows[2] = {**rows[2], "sex": "", "relation": "child"}
    assert run(csv_bytes(rows)).members_created == 4
    spouse, son = Member.objects.get(id_number=SPOUSE_ID), Member.objects.get(id_number=SON_ID)
    assert (spouse.sex, spouse.birth_date) == (FEMALE, date(1972, 8, 19))
    assert (son.sex, son.relation) == (MALE, Relation.SON)


def test_a_roster_without_sex_and_birth_date_columns_is_imported_from_the_ids(village):
    headers = [h for h in EN_HEADERS if h not in ("sex", "birth_date")]
    lines = [",".join(headers)] + [",".join(row[h] for h in headers) for row in family()]
    assert run(("\n".join(lines) + "\n").encode()).members_created == 4
    assert Member.objects.get(id_number=HEAD_ID).birth_date == date(1970, 3, 5)


def test_a_blank_sex_beside_a_bad_id_adds_no_error_of_its_own(village):
    errors = refused(bad(1, id_number=BAD_CHECKSUM, sex="", birth_date=""))
    assert [(e.row, e.column) for e in errors] == [(3, "id_number")]


def test_a_given_sex_still_has_to_agree_with_the_id(village):
    error = one_error(bad(1, sex="男", birth_date=""))
    assert (error.column, error.reason) == ("sex", "性别与身份证号不符：按身份证号应为女")


def test_a_household_registered_before_keeps_its_number(village):
    rows = family()[3:]
    rows[0] = {**rows[0], "household_no": "12345"}
    HouseholdFactory(village=village, number="12345")
    run(csv_bytes(rows))
    assert Household.objects.get(number="12345").members.get().id_number == OTHER_HEAD_ID
