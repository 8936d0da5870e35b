"""What a roster import answers: the counts of what it wrote, or the refusal listing every bad row."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from core.errors import NcmsError
from core.tabular import RowError


@dataclass
class RosterSummary:
    rows: int = 0
    households_created: int = 0
    households_updated: int = 0
    members_created: int = 0
    members_updated: int = 0
    enrollments_created: int = 0
    unchanged_rows: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


class RosterInvalid(NcmsError):
    """The roster is refused whole; `.errors` lists every invalid row (nothing was written)."""

    def __init__(self, errors: list[RowError]):
        self.errors = errors
        rows = {e.row for e in errors if e.row > 1}
        if rows:
            message = f"花名册有{len(rows)}行不符合要求，整个文件未导入；请改正后重新导入"
        else:
            message = "花名册文件不符合要求，未导入：" + "；".join(e.reason for e in errors)
        super().__init__(message, code="roster_invalid")


def conflict() -> NcmsError:
    """A write refused by a unique index: someone registered the same keys meanwhile."""
    return NcmsError("导入时有人同时登记了相同的户号、合作医疗证号或身份证号，本次未导入；请重新导入",
                     code="roster_conflict")
