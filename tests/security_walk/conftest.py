"""A small county with one object of every kind a URL can name, in two places: "own" (the
township and the facility of users_by_role's clerks) and "other" (another township, another
facility), for the URL walk (test_url_walk.py) and the API fuzz (test_api_fuzz.py)."""
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token

from accounts.models import Role
from claims.models import Recovery, Referral, RejectionReason
from core.xlsx import MONEY, TEXT, XlsxSheet
from enrollment.models import ExportJob, ImportJob
from fund.models import FundReport
from oversight.services import inspection_record
from publicity.models import Notice, NoticeLine
from publicity.services import objection_file, report_file
from tests.factories import (
    ClaimFactory,
    EnrollmentFactory,
    FacilityFactory,
    HouseholdFactory,
    MemberFactory,
    PolicyVersionFactory,
)

PDF = b"%PDF-1.4\n%walk\n"
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass
class Place:
    """The objects of one place (a township with its village and facility)."""

    township: object
    village: object
    facility: object
    household: object
    member: object
    claim: object  # submitted, member of this township, at this facility
    approved_claim: object
    facility_claim: object  # approved, facility channel, discharged in April 2026: the facility's statement
    document: object  # a scan of `claim`
    inspection: object  # of `facility`
    inspection_document: object
    import_job: object  # of this township
    referral: object  # of `member`, from `facility` to the county hospital both places refer to
    export_job: object  # of this township, done: its file may be downloaded


@dataclass
class World:
    own: Place
    other: Place
    users: dict  # Role -> user
    policy: object
    notice: object
    notice_line: object
    objection: object
    report: object
    fund_report: object
    recovery: object  # of the paid claim, township channel: a refund is owed
    group: object
    token: object
    extra: dict = field(default_factory=dict)

    def place(self, variant: str) -> Place:
        return self.own if variant == "own" else self.other


def _roster_file(member) -> bytes:
    """An export job's stored file: the roster row of the place's member (enrollment.exports)."""
    out = io.BytesIO()
    sheet = XlsxSheet(out, title="花名册2026", headers=["姓名", "身份证号", "缴费金额"], kinds=[TEXT, TEXT, MONEY])
    sheet.write_rows([(member.name, member.id_number, Decimal("380.00"))])
    sheet.close()
    return out.getvalue()


def _place(*, township, village, facility, officer, clerk_user, number: str, id_seed: int, hospital) -> Place:
    household = HouseholdFactory(village=village, number=f"H-{number}", bank_name="农商银行",
                                 bank_account=f"62284800{id_seed:011d}")
    member = MemberFactory(household=household, name=f"张{number}")
    household.head = member
    household.save(update_fields=["head"])
    EnrollmentFactory(member=member, year=2026)
    claim = ClaimFactory(member=member, facility=facility, invoice_no=f"INV-{number}-1", status="submitted")
    approved = ClaimFactory(member=member, facility=facility, invoice_no=f"INV-{number}-2", status="approved",
                            admission_date=date(2026, 4, 1), discharge_date=date(2026, 4, 5))
    facility_claim = ClaimFactory(member=member, facility=facility, invoice_no=f"INV-{number}-F", status="approved",
                                  channel="facility", admission_date=date(2026, 4, 6),
                                  discharge_date=date(2026, 4, 9))
    from claims.services import claim_document_add

    document = claim_document_add(user=clerk_user, claim=claim,
                                  upload=SimpleUploadedFile("invoice.pdf", PDF, content_type="application/pdf"))
    inspection = inspection_record(
        user=officer, facility=facility, inspected_on=date(2026, 5, 12), inspectors="张检查",
        findings="挂床住院", penalty_amount=Decimal("100.00"), deduct_from_settlements=False,
        documents=[SimpleUploadedFile("report.pdf", PDF, content_type="application/pdf")])
    job = ImportJob.objects.create(
        year=2026, file=ContentFile(b"bad", name="roster.csv"), original_name="roster.csv",
        created_by=clerk_user, township=township, status=ImportJob.Status.INVALID,
        errors=[{"row": 1, "column": "", "value": "", "reason": "bad"}], summary={"error_count": 1})
    referral = Referral.objects.create(
        number=f"ZZ-{number}", member=member, township=township, from_facility=facility, to_facility=hospital,
        date=date(2026, 3, 1), reason="病情需要", issued_by=clerk_user, issued_at=datetime(2026, 3, 1, 9, tzinfo=SHANGHAI))
    export_job = ExportJob.objects.create(
        kind=ExportJob.Kind.ROSTER, year=2026, township=township, created_by=clerk_user,
        status=ExportJob.Status.DONE, total_rows=1, processed_rows=1,
        file=ContentFile(_roster_file(member), name="roster-2026.xlsx"))
    return Place(township=township, village=village, facility=facility, household=household, member=member,
                 claim=claim, approved_claim=approved, facility_claim=facility_claim, document=document, inspection=inspection,
                 inspection_document=inspection.documents.get(), import_job=job, export_job=export_job,
                 referral=referral)


@pytest.fixture
def world(users_by_role, township, other_township, village, other_village, facility, make_user):
    policy = PolicyVersionFactory(year=2026)
    RejectionReason.objects.get_or_create(code="documents_missing", defaults={"text": "材料不全"})
    other_facility = FacilityFactory(code="F102", name="河口乡卫生院", township=other_township)
    hospital = FacilityFactory(code="F900", name="县人民医院", level="county", township=township)
    officer = users_by_role[Role.FUND_OFFICER]
    other_clerk = make_user(Role.TOWNSHIP_CLERK, township=other_township, username="walk-other-clerk")
    other_facility_clerk = make_user(Role.FACILITY_CLERK, facility=other_facility, username="walk-other-fclerk")
    own = _place(township=township, village=village, facility=facility, officer=officer,
                 clerk_user=users_by_role[Role.TOWNSHIP_CLERK], number="100", id_seed=1, hospital=hospital)
    other = _place(township=other_township, village=other_village, facility=other_facility, officer=officer,
                   clerk_user=other_clerk, number="200", id_seed=2, hospital=hospital)
    paid = ClaimFactory(member=own.member, facility=facility, invoice_no="INV-100-3", status="paid",
                        admission_date=date(2026, 2, 1), discharge_date=date(2026, 2, 5),
                        paid_at=datetime(2026, 3, 5, 10, tzinfo=SHANGHAI))
    notice = Notice.objects.create(village=village, year=2026, month=3, posted_at=datetime(2026, 4, 1, 9, tzinfo=SHANGHAI),
                                   objection_until=date(2100, 1, 1))
    line = NoticeLine.objects.create(notice=notice, order=1, masked_name="张*", village_name=village.name,
                                     facility_name=facility.name, admission_date=paid.admission_date,
                                     discharge_date=paid.discharge_date, total_cost=paid.total_cost,
                                     reimbursable_cost=paid.reimbursable_cost, compensation=paid.compensation,
                                     claim=paid)
    objection = objection_file(line=line, text="补偿金额不对，请核实", phone="13800000000")
    report = report_file(text="挂床住院，请调查", facility=facility)
    fund_report = FundReport.objects.create(year=2026, month=3, version=1, data={"year": 2026, "month": 3})
    recovery = Recovery.objects.create(claim=paid, amount=Decimal("10.00"), reason="重复收费", date=date(2026, 3, 6),
                                       source="review")
    token, _ = Token.objects.get_or_create(user=users_by_role[Role.FACILITY_CLERK])
    return World(own=own, other=other, users=users_by_role, policy=policy, notice=notice, notice_line=line,
                 objection=objection, report=report, fund_report=fund_report, recovery=recovery,
                 group=Group.objects.create(name="walk"), token=token,
                 extra={"other_clerk": other_clerk, "other_facility_clerk": other_facility_clerk,
                        "paid_claim": paid, "hospital": hospital})
