"""POSTs to every state-changing endpoint as users out of scope change nothing (403/404/405 and an
unchanged database); the same POST as a user in scope proves the request would have written."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from accounts.roles import user_can
from tests.claims.conftest import policy_document
from tests.fund.draft_posts import fields_post
from tests.security_walk.table import (
    RULES,
    SCOPED,
    Rule,
    _url,
    in_scope,
)
from tests.security_walk.test_url_walk import _client, body_text

# --- POST: users out of scope change nothing -------------------------------------------------

WATCHED_APPS = ("places", "facilities", "policy", "ledger", "enrollment", "claims", "fund", "oversight", "publicity")


def snapshot() -> dict:
    """Every row of the domain's tables (history tables included), to compare before and after."""
    state = {}
    for app_label in WATCHED_APPS:
        for model in apps.get_app_config(app_label).get_models():
            state[model._meta.label] = list(model._default_manager.order_by("pk").values())
    return state


def _changed(before: dict, after: dict) -> list[str]:
    return [label for label in before if before[label] != after[label]]


def _pdf(name: str = "scan.pdf"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.security_walk.conftest import PDF

    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def _new_id(sequence: int) -> str:
    from datetime import date

    from enrollment.rules import MALE, make_resident_id

    return make_resident_id("420102", date(1990, 5, 17), sequence, MALE)


def _status(claim_attribute: str, status: str):
    def prepare(world):
        claim = getattr(world.own, claim_attribute)
        type(claim).objects.filter(pk=claim.pk).update(status=status)
    return prepare


def _paid(claim_attribute: str):
    """The place's claim paid today, so a recovery dated today is accepted."""
    def prepare(world):
        from django.utils import timezone

        claim = getattr(world.own, claim_attribute)
        type(claim).objects.filter(pk=claim.pk).update(status="paid", paid_at=timezone.now())
    return prepare


def _paid_claim_today(world):
    from django.utils import timezone

    claim = world.extra["paid_claim"]
    type(claim).objects.filter(pk=claim.pk).update(paid_at=timezone.now())


def _today() -> str:
    from django.utils import timezone

    return timezone.localdate().isoformat()


def _funded(world):
    from datetime import date

    from ledger.services import funds_transfer, income_record

    income_record(user=None, year=2026, date=date(2026, 2, 1), source="central", amount="10000.00", ref="W-C1")
    funds_transfer(user=None, year=2026, date=date(2026, 2, 2), amount="5000.00", ref="W-T1")


def _ready_job(world):
    from enrollment.models import ImportJob

    ImportJob.objects.filter(pk=world.own.import_job.pk).update(status=ImportJob.Status.READY, total_rows=1)


def _failed_export(world):
    from enrollment.models import ExportJob

    ExportJob.objects.filter(pk=world.own.export_job.pk).update(status=ExportJob.Status.FAILED)


def _suspended(world):
    from datetime import date

    from facilities.services import facility_suspend

    facility_suspend(user=world.users[Role.FUND_OFFICER], facility=world.own.facility,
                     from_date=date(2026, 6, 1), reason="违规")


def _unenrolled_member(world):
    from django.utils import timezone

    from tests.factories import MemberFactory, PolicyVersionFactory

    PolicyVersionFactory(year=timezone.localdate().year)  # a contribution needs the year's policy
    world.extra["new_member"] = MemberFactory(household=world.own.household, name="李新", relation="son")


def _contribution_to_void(world):
    """A contribution recorded (and booked) for a member without a claim: one the fund officer may void."""
    from datetime import date

    from enrollment.services import enrollment_record_contribution

    _unenrolled_member(world)
    world.extra["enrollment"] = enrollment_record_contribution(
        user=world.users[Role.TOWNSHIP_CLERK], member=world.extra["new_member"], year=2026,
        contribution="380.00", receipt_no="W-V1", paid_date=date(2026, 3, 1))


def _second_household(world):
    """A member to move and a second household of the own township to move them to."""
    from tests.factories import HouseholdFactory

    _unenrolled_member(world)
    world.extra["second_household"] = HouseholdFactory(village=world.own.village)


def _member_died(world):
    """The own place's member recorded as died (by mistake): one whose death may be undone."""
    from datetime import date

    member = world.own.member
    type(member).objects.filter(pk=member.pk).update(status="died", status_date=date(2026, 5, 10),
                                                     status_reason="误登记")


def _newborn_id() -> str:
    from datetime import date

    from enrollment.rules import MALE, make_resident_id

    return make_resident_id("420102", date(2026, 11, 1), 31, MALE)


@dataclass(frozen=True)
class Post:
    data: Callable  # (world) -> the POST body of a request that writes when made by `control`
    control: Role  # a role in scope, whose identical POST proves the request writes
    url: Callable | None = None  # (world) -> path; default the pattern with the own place's object
    prepare: Callable | None = None  # (world) -> None: puts the object in a state the step accepts
    json: bool = False
    # a URL without an object: the other place's clerk may post, for their own place only (the
    # form offers only their villages and members), so posting the own place's data writes nothing
    other_place_refused: bool = True


TODAY = "2026-11-20"
CLAIM_ENTRY = {
    "admission_date": "2026-05-01", "discharge_date": "2026-05-06", "invoice_no": "W-NEW-1",
    "diagnosis_code": "J18.9", "diagnosis_text": "肺炎", "delivery": "",
    "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "0", "lines-MIN_NUM_FORMS": "0", "lines-MAX_NUM_FORMS": "40",
    "lines-0-category": "drugs", "lines-0-amount": "1000.00", "lines-0-in_catalog": "on",
}

POSTS: dict[str, Post] = {
    # enrollment
    "enrollment:household_create": Post(lambda w: {
        "village": w.own.village.pk, "number": f"{w.own.village.code}9001", "head_name": "王新", "head_id_number": _new_id(11),
        "head_category": "ordinary"}, Role.TOWNSHIP_CLERK),
    "enrollment:household_edit": Post(lambda w: {"village": w.own.village.pk, "address": "新地址 1 号"},
                                      Role.TOWNSHIP_CLERK),
    "enrollment:member_add": Post(lambda w: {"name": "王小新", "id_number": _new_id(12), "relation": "son",
                                             "category": "ordinary"}, Role.TOWNSHIP_CLERK),
    "enrollment:member_edit": Post(lambda w: {"name": "张改名", "id_number": w.own.member.id_number,
                                              "relation": "head", "category": "ordinary"}, Role.TOWNSHIP_CLERK),
    "enrollment:enrollment_record": Post(
        lambda w: {"contribution": "380.00", "receipt_no": "W-R1", "paid_date": TODAY},
        Role.TOWNSHIP_CLERK, url=lambda w: reverse("enrollment:enrollment_record",
                                                   kwargs={"pk": w.extra["new_member"].pk}),
        prepare=_unenrolled_member),
    "enrollment:member_leave": Post(lambda w: {"status": "died", "on": _today(), "reason": "病故"},
                                    Role.TOWNSHIP_CLERK),
    "enrollment:member_reinstate": Post(lambda w: {"reason": "误登记为死亡"}, Role.TOWNSHIP_CLERK,
                                        prepare=_member_died),
    "enrollment:member_move": Post(
        lambda w: {"to_household_number": w.extra["second_household"].number, "relation": "son", "on": _today(),
                   "reason": "分户"},
        Role.TOWNSHIP_CLERK, url=lambda w: reverse("enrollment:member_move", kwargs={"pk": w.extra["new_member"].pk}),
        prepare=_second_household),
    "enrollment:newborn_add": Post(lambda w: {"name": "张小宝", "id_number": _newborn_id(), "birth_date": "2026-11-01",
                                              "relation": "son", "receipt_no": "W-NB1", "paid_date": TODAY},
                                   Role.TOWNSHIP_CLERK),
    "enrollment:household_pay": Post(lambda w: {"paid_date": TODAY, "first_receipt": "W-P001"},
                                     Role.TOWNSHIP_CLERK, prepare=_unenrolled_member),
    "enrollment:contribution_void": Post(
        lambda w: {"reason": "登记错了人"}, Role.FUND_OFFICER,
        url=lambda w: reverse("enrollment:contribution_void", kwargs={"pk": w.extra["enrollment"].pk}),
        prepare=_contribution_to_void),
    # an upload is the clerk's own job (its rows are checked against their township on import)
    "enrollment:roster_import": Post(lambda w: {"year": "2026", "file": _csv()}, Role.TOWNSHIP_CLERK,
                                     other_place_refused=False),
    "enrollment:roster_import_detail": Post(lambda w: {}, Role.TOWNSHIP_CLERK, prepare=_ready_job),
    "enrollment:export_job_detail": Post(lambda w: {"retry": "1"}, Role.TOWNSHIP_CLERK, prepare=_failed_export),
    # claims
    "claims:claim_create": Post(lambda w: {**CLAIM_ENTRY, "member": w.own.member.pk, "facility": w.own.facility.pk,
                                           "scans": _pdf()}, Role.TOWNSHIP_CLERK),
    "claims:bulk_approve": Post(lambda w: {"claim": [w.own.claim.pk]}, Role.APPROVER,
                                prepare=_status("claim", "reviewed")),
    "claims:referral_create": Post(lambda w: {
        "number": "ZZ-NEW-1", "id_number": w.own.member.id_number, "from_facility": w.own.facility.pk,
        "to_facility": w.extra["hospital"].pk, "date": _today(), "reason": "病情需要"}, Role.TOWNSHIP_CLERK),
    "claims:referral_cancel": Post(lambda w: {"reason": "开错了医院"}, Role.TOWNSHIP_CLERK),
    "claims:claim_review": Post(lambda w: {"note": "已核"}, Role.REVIEWER),
    "claims:claim_approve": Post(lambda w: {"note": "同意"}, Role.APPROVER, prepare=_status("claim", "reviewed")),
    "claims:claim_return": Post(lambda w: {"note": "请补发票"}, Role.REVIEWER),
    "claims:claim_reject": Post(lambda w: {"reason": _reason().pk, "note": "材料不全"}, Role.REVIEWER),
    "claims:claim_resubmit": Post(lambda w: {}, Role.TOWNSHIP_CLERK, prepare=_status("claim", "returned")),
    "claims:claim_correct": Post(lambda w: {**CLAIM_ENTRY, "invoice_no": w.own.claim.invoice_no}, Role.TOWNSHIP_CLERK,
                                 prepare=_status("claim", "returned")),
    "claims:claim_recover": Post(lambda w: {"amount": "10.00", "on": _today(), "reason": "重复收费"},
                                 Role.REVIEWER, prepare=_paid("claim")),
    "claims:document_upload": Post(lambda w: {"scans": _pdf()}, Role.TOWNSHIP_CLERK),
    # the fund
    "fund:income_create": Post(lambda w: {"year": "2026", "date": TODAY, "source": "central", "amount": "100.00",
                                          "ref": "W-I1"}, Role.FUND_OFFICER),
    "fund:transfer_create": Post(lambda w: {"year": "2026", "date": TODAY, "amount": "100.00", "ref": "W-T2"},
                                 Role.FUND_OFFICER, prepare=_funded),
    "fund:payout_pay": Post(lambda w: {"pay_one": w.own.approved_claim.pk}, Role.CASHIER, prepare=_funded),
    # the cashier pays the own facility's April statement (its facility_claim), confirmed
    "fund:statement_pay": Post(lambda w: {"paid_on": "2026-05-10", "ref": "W-S1", "confirm": "1",
                                          "net": str(w.own.facility_claim.compensation), "claims": "1"},
                               Role.CASHIER, prepare=_funded),
    "fund:refund_create": Post(lambda w: {"amount": "5.00", "date": _today(), "ref": "W-RF1"}, Role.FUND_OFFICER,
                               prepare=_funded),
    "fund:simulation_new_file": Post(lambda w: {"name": "W-草案", "base_year": "2026",
                                                "document": json.dumps(policy_document())}, Role.FUND_OFFICER),
    "fund:simulation_new": Post(lambda w: fields_post(policy_document(), name="W-逐项草案"), Role.FUND_OFFICER),
    "fund:simulation_edit": Post(lambda w: fields_post(policy_document(annual_cap="150000.00"), name="W-改"),
                                 Role.FUND_OFFICER),
    "fund:simulation_run": Post(lambda w: {}, Role.FUND_OFFICER),
    "fund:simulation_adopt": Post(lambda w: {"year": "2031"}, Role.FUND_OFFICER),
    "fund:simulation_cancel": Post(lambda w: {}, Role.FUND_OFFICER),
    "fund_report:store": Post(lambda w: {"year": "2026", "month": "3"}, Role.FUND_OFFICER),
    # the queue of objections and reports
    "publicity_staff:case_recover": Post(lambda w: {"amount": "10.00", "on": _today(), "reason": "异议属实"},
                                         Role.REVIEWER, prepare=_paid_claim_today),
    "publicity_staff:case_action": Post(lambda w: {"action": "investigate"}, Role.FUND_OFFICER),
    "publicity_staff:case_answer": Post(lambda w: {"answer": "经村委会核实，住院属实"}, Role.TOWNSHIP_CLERK),
    "publicity_staff:notice_post": Post(lambda w: {"year": _today()[:4], "month": str(int(_today()[5:7]))},
                                        Role.FUND_OFFICER, prepare=_paid("claim")),
    # facilities
    "oversight:facility_suspend": Post(lambda w: {"from_date": "2026-06-01", "reason": "违规"}, Role.FUND_OFFICER),
    "oversight:facility_reinstate": Post(lambda w: {"on_date": "2026-07-01", "reason": "整改完毕"},
                                          Role.FUND_OFFICER, prepare=_suspended),
    "oversight:facility_agreement": Post(lambda w: {"agreement_start": "2026-01-01", "agreement_end": "2028-12-31",
                                                     "reason": "续签"}, Role.FUND_OFFICER),
    "oversight:inspection_create": Post(lambda w: {"inspected_on": "2026-06-02", "inspectors": "王检查",
                                                    "findings": "无", "penalty_amount": "0.00",
                                                    "documents": _pdf()}, Role.FUND_OFFICER),
    "oversight:inspection_recover": Post(lambda w: {"invoice_no": "INV-100-3", "amount": "10.00", "on": _today(),
                                                    "reason": "检查发现"}, Role.FUND_OFFICER,
                                         prepare=_paid_claim_today),
    "oversight:inspection_detail": Post(lambda w: {"documents": _pdf()}, Role.FUND_OFFICER),
    # the API: settling for a facility (a facility clerk for another facility is refused)
    "api:claims": Post(lambda w: _settle_body(w), Role.FACILITY_CLERK, json=True),
}

# POST-only endpoints that write nothing, and where their POST is tested
POST_WITHOUT_WRITES = {
    "logout": "ends the session of whoever posts",
    "claims:claim_quote_preview": "values a claim, writes nothing",
    "api:quote": "values a claim, writes nothing (tests/claims/test_api.py)",
    "claims:claim_correct_quote": "values a correction, writes nothing (tests/claims/test_correction.py)",
    "admin:logout": "ends the session",
}


def _csv():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("roster.csv", "户号,村代码,姓名,身份证号\n".encode(), content_type="text/csv")


def _reason():
    from claims.models import RejectionReason

    return RejectionReason.objects.get(code="documents_missing")


def _settle_body(world) -> dict:
    member = world.own.member
    return {"ref": "w1", "id_number": member.id_number, "facility": world.own.facility.code,
            "invoice_no": "W-API-000001", "admission_date": "2026-05-01", "discharge_date": "2026-05-06",
            "total_cost": "1100.00", "non_reimbursable_cost": "100.00", "referred": False, "diagnosis": "J18.9",
            "delivery": None}


def test_every_post_only_endpoint_has_a_post_check():
    post_only_keys = {key for key, rule in RULES.items() if 405 in (rule.ok, rule.every_role)}
    assert post_only_keys - set(POSTS) - set(POST_WITHOUT_WRITES) == set()
    assert set(POSTS) <= set(RULES)


def _out_of_scope_users(world, spec: Post, rule: Rule):
    """(user, statuses accepted) of every role that may not make this POST on the own place's
    object, and of the clerks of the other place (in scope of their own township or facility, not
    of this one): 403/404/405, or for a URL naming no object also the form shown again (200)."""
    users = [(world.users[role], (403, 404, 405)) for role in Role
             if not (user_can(world.users[role], rule.capability) and in_scope(world.users[role], rule.scope, "own"))]
    if spec.other_place_refused:
        statuses = (403, 404, 405) if rule.scope in SCOPED else (200, 403, 404, 405)
        users += [(world.extra["other_clerk"], statuses), (world.extra["other_facility_clerk"], statuses)]
    return users


def _post(client: Client, url: str, spec: Post, world):
    if spec.json:
        return client.post(url, spec.data(world), content_type="application/json")
    return client.post(url, spec.data(world))


@pytest.mark.parametrize("key", sorted(POSTS))
def test_denied_posts_change_nothing(world, key, monkeypatch):
    from datetime import date

    from claims import settlement

    # the claims are of May 2026: "today" within the policy's claim deadline
    monkeypatch.setattr(settlement, "_today", lambda: date(2026, 5, 20))
    spec, rule = POSTS[key], RULES[key]
    if spec.prepare:
        spec.prepare(world)
    url = spec.url(world) if spec.url else _url(key, rule, world, "own")
    before = snapshot()
    wrong = []
    for user, statuses in _out_of_scope_users(world, spec, rule):
        response = _post(_client(user), url, spec, world)
        after = snapshot()
        if response.status_code not in statuses or after != before:
            wrong.append(f"{user.username} ({user.role}): {response.status_code}, changed {_changed(before, after)}")
            before = after
    assert wrong == [], f"POST {url}\n" + "\n".join(wrong)

    response = _post(_client(world.users[spec.control]), url, spec, world)
    assert response.status_code in (200, 201, 302), response.content[:500]
    assert _changed(before, snapshot()), f"the control POST of {spec.control} to {url} wrote nothing"


def test_admin_export_and_import_need_the_registers_permission(world, make_user):
    """A staff user without a register's permission neither exports it (members' ID numbers) nor
    imports into it; django-import-export allows any staff user unless the permission codes are
    set (settings.IMPORT_EXPORT_*_PERMISSION_CODE)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    export = {"format": "0", "resource": "0", "memberadminresource_name": "on",
              "memberadminresource_id_number": "on"}
    staff = _client(world.users[Role.ADMINISTRATOR])  # is_staff, no model permission
    before = snapshot()

    response = staff.post("/admin/enrollment/member/export/", export)
    assert response.status_code == 403
    assert world.own.member.id_number.encode() not in response.content
    upload = SimpleUploadedFile("townships.csv", "code,name\n420102300,新乡\n".encode(), content_type="text/csv")
    assert staff.post("/admin/places/township/import/", {"format": "0", "resource": "0",
                                                             "import_file": upload}).status_code == 403
    assert staff.post("/admin/places/township/process_import/", {"format": "0", "resource": "0",
                                                                     "import_file_name": "x.csv",
                                                                     "original_file_name": "x.csv"}).status_code == 403
    assert _changed(before, snapshot()) == []

    superuser = make_user(Role.ADMINISTRATOR, username="walk-root", is_staff=True, is_superuser=True)
    response = _client(superuser).post("/admin/enrollment/member/export/", export)
    assert response.status_code == 200
    assert world.own.member.id_number.encode() in response.content


@pytest.mark.parametrize("role,key,query,shown", [
    (Role.TOWNSHIP_CLERK, "enrollment:household_search", "", lambda place: place.household.number),
    (Role.TOWNSHIP_CLERK, "enrollment:roster_export", "?year=2026", lambda place: place.member.id_number),
    (Role.TOWNSHIP_CLERK, "claims:claim_list", "?status=", lambda place: place.claim.invoice_no),
    (Role.FACILITY_CLERK, "claims:claim_list", "?status=", lambda place: place.claim.invoice_no),
    (Role.FACILITY_CLERK, "api:claims", "", lambda place: place.claim.invoice_no),
])
def test_the_leak_check_sees_the_own_place(world, role, key, query, shown):
    """The walk's check that a clerk's lists show nothing of the other place is not vacuous:
    the same lists show the own place's rows, and the other place's rows exist."""
    text = body_text(_client(world.users[role]).get(reverse(key) + query))
    assert shown(world.own) in text
    assert shown(world.other) not in text
    assert world.other.claim.invoice_no in body_text(_client(world.users[Role.AUDITOR]).get(
        reverse("claims:claim_list") + "?status="))
