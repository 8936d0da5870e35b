"""The roster file's columns: header spellings (Chinese or English), and the words a cell may hold."""
from __future__ import annotations

from dataclasses import dataclass

from core.tabular import RowError
from enrollment.models import Category, MemberStatus, Relation, Sex

# field, Chinese header, English header, required column
FIELDS: list[tuple[str, str, str, bool]] = [
    ("village_code", "村代码", "village_code", True),
    ("household_no", "户号", "household_no", True),
    ("head_id_number", "户主身份证号", "head_id_number", True),
    ("name", "姓名", "name", True),
    ("id_number", "身份证号", "id_number", True),
    ("sex", "性别", "sex", False),  # blank or left out: from the ID number
    ("birth_date", "出生日期", "birth_date", False),  # blank or left out: from the ID number
    ("relation", "与户主关系", "relation", True),
    ("category", "人员类别", "category", True),
    ("phone", "联系电话", "phone", False),
    ("contribution", "缴费金额", "contribution", False),
    ("paid_date", "缴费日期", "paid_date", False),
    ("receipt_no", "收据号", "receipt_no", False),
    # blank or left out: the member's status as registered (a new member is on the roll)
    ("status", "人员状态", "status", False),
    ("status_date", "状态日期", "status_date", False),  # required for 死亡 and 迁出本县
    ("status_reason", "状态原因", "status_reason", False),
]
FIELD_ORDER = {field: i for i, (field, *_rest) in enumerate(FIELDS)}
HEADER_LOOKUP = {}
for _field, _zh, _en, _required in FIELDS:
    HEADER_LOOKUP[_zh] = _field
    HEADER_LOOKUP[_en] = _field

SEXES = {"男": Sex.MALE, "女": Sex.FEMALE, "m": Sex.MALE, "f": Sex.FEMALE,
         "male": Sex.MALE, "female": Sex.FEMALE}
CHILD = "child"  # English roster word: son or daughter by the member's sex
RELATIONS = {
    "户主": Relation.HEAD, "配偶": Relation.SPOUSE, "子": Relation.SON, "女": Relation.DAUGHTER,
    "父母": Relation.PARENT, "孙子女": Relation.GRANDCHILD, "其他": Relation.OTHER,
    "head": Relation.HEAD, "spouse": Relation.SPOUSE, "child": CHILD, "son": Relation.SON,
    "daughter": Relation.DAUGHTER, "parent": Relation.PARENT, "grandchild": Relation.GRANDCHILD,
    "other": Relation.OTHER,
}
CATEGORIES = {
    "普通": Category.ORDINARY, "五保": Category.WUBAO, "低保": Category.DIBAO, "贫困": Category.POOR,
    "ordinary": Category.ORDINARY, "wubao": Category.WUBAO, "dibao": Category.DIBAO,
    "poor": Category.POOR,
}
STATUSES = {
    "在册": MemberStatus.ACTIVE, "死亡": MemberStatus.DIED, "迁出本县": MemberStatus.MOVED_OUT,
    "active": MemberStatus.ACTIVE, "died": MemberStatus.DIED, "moved_out": MemberStatus.MOVED_OUT,
}
STATUS_WORDS = {MemberStatus.ACTIVE: "在册", MemberStatus.DIED: "死亡", MemberStatus.MOVED_OUT: "迁出本县"}


def status_of(text) -> str | None:
    """The status a cell names (None: blank or not a status word)."""
    text = str(text).strip()
    return STATUSES.get(text) or STATUSES.get(text.lower())


SEX_WORDS = {Sex.MALE: "男", Sex.FEMALE: "女"}
SUBSIDISED = {Category.WUBAO, Category.DIBAO, Category.POOR}  # their contribution is paid by civil affairs

MANGLED_ID = (
    "身份证号被表格软件存成了数字（科学计数法），后几位已经丢失、无法还原；"
    "请在表格中把身份证号这一列设置为文本格式，重新录入后再导入"
)


@dataclass(slots=True)
class Columns:
    """Where each field of the file is: its column index and its header as the file spells it."""

    index: dict[str, int]
    header: dict[str, str]

    @property
    def width(self) -> int:
        return max(self.index.values()) + 1

    def rank(self, column: str) -> int:
        """The field order of a header as given (-1 for "", the whole row): errors are listed so."""
        for field, given in self.header.items():
            if given == column:
                return FIELD_ORDER[field]
        return -1


def map_headers(headers: list[str]) -> tuple[Columns, list[RowError]]:
    """Each field's column. Unknown, duplicate or missing headers are errors."""
    index: dict[str, int] = {}
    header: dict[str, str] = {}
    errors: list[RowError] = []
    for position, given in enumerate(headers):
        text = given.strip().replace("\u3000", "")
        if not text:
            continue
        field = HEADER_LOOKUP.get(text) or HEADER_LOOKUP.get(text.lower())
        if field is None:
            errors.append(RowError(1, given, given, "无法识别的列名；可用的列名见花名册模板（中文或英文均可）"))
        elif field in index:
            errors.append(RowError(1, given, given, f"与“{header[field]}”是同一列，重复了"))
        else:
            index[field] = position
            header[field] = given
    missing = [f"{zh}（{en}）" for field, zh, en, required in FIELDS if required and field not in index]
    if missing:
        errors.append(RowError(1, "", "", "缺少必需的列：" + "、".join(missing)))
    return Columns(index, header), errors
