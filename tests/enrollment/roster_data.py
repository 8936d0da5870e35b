"""Roster files for tests: rows as dicts keyed by the contract's English headers, written as CSV/XLSX."""
import csv
import io
from datetime import date

from openpyxl import Workbook

from enrollment.rules import FEMALE, MALE, make_resident_id

EN_HEADERS = ["village_code", "household_no", "head_id_number", "name", "id_number", "sex",
              "birth_date", "relation", "category", "phone", "contribution", "paid_date", "receipt_no"]
ZH_HEADERS = ["村代码", "户号", "户主身份证号", "姓名", "身份证号", "性别", "出生日期", "与户主关系",
              "人员类别", "联系电话", "缴费金额", "缴费日期", "收据号"]
# the optional status columns: the export and the template write them, most test files leave them out
STATUS_ZH_HEADERS = ["人员状态", "状态日期", "状态原因"]
STATUS_EN_HEADERS = ["status", "status_date", "status_reason"]
EXPORT_HEADERS = ZH_HEADERS + STATUS_ZH_HEADERS

VILLAGE = "420102100201"
HEAD_ID = make_resident_id("420102", date(1970, 3, 5), 11, MALE)
SPOUSE_ID = make_resident_id("420102", date(1972, 8, 19), 12, FEMALE)
SON_ID = make_resident_id("420102", date(2001, 2, 28), 13, MALE)
OTHER_HEAD_ID = make_resident_id("420102", date(1965, 12, 1), 21, FEMALE)


def person(id_number, name, relation, *, household_no="H001", head=HEAD_ID, village=VILLAGE,
           category="普通", phone="", contribution="380.00", paid_date="2026-01-05",
           receipt_no=None, **overrides):
    """One roster row (Chinese values) whose sex and birth date agree with the ID."""
    sex = "男" if int(id_number[16]) % 2 else "女"
    row = {
        "village_code": village, "household_no": household_no, "head_id_number": head,
        "name": name, "id_number": id_number, "sex": sex,
        "birth_date": f"{id_number[6:10]}-{id_number[10:12]}-{id_number[12:14]}",
        "relation": relation, "category": category, "phone": phone,
        "contribution": contribution, "paid_date": paid_date if contribution else "",
        "receipt_no": (receipt_no if receipt_no is not None else f"R-{id_number[-6:]}") if contribution else "",
    }
    row.update(overrides)
    return row


def family():
    """Household H001 of three (head, spouse, son) and household H002 of one (a 低保 head)."""
    return [
        person(HEAD_ID, "张大山", "户主", phone="13800000001"),
        person(SPOUSE_ID, "李秀英", "配偶"),
        person(SON_ID, "张小明", "子"),
        person(OTHER_HEAD_ID, "王桂兰", "户主", household_no="H002", head=OTHER_HEAD_ID,
               category="低保"),
    ]


def csv_bytes(rows, *, headers=EN_HEADERS, encoding="utf-8"):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow([row.get(en, "") for en in EN_HEADERS[: len(headers)]] if isinstance(row, dict) else row)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows, *, headers=ZH_HEADERS, numeric_ids=False):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for row in rows:
        values = [row.get(en, "") for en in EN_HEADERS[: len(headers)]]
        if numeric_ids:
            values[4] = float(values[4].replace("X", "0"))
        sheet.append(values)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def many(count, *, village=VILLAGE):
    """`count` one-person households H0000001... (heads with valid, distinct IDs)."""
    from datetime import timedelta

    rows = []
    for n in range(count):
        born = date(1940, 1, 1) + timedelta(days=n // 50)
        sex = MALE if n % 2 else FEMALE
        id_number = make_resident_id("420102", born, n % 50, sex)
        rows.append(person(id_number, f"村民{n}", "户主", household_no=f"H{n:07d}", head=id_number,
                           village=village))
    return rows
