"""Claims services: eligibility refusals, the annual cap, the workflow and its history."""
from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Role
from claims import lookups, services, settlement
from claims.models import Channel, Claim, ClaimDocument, ClaimEvent, ClaimStatus, CostLine, MemberYearCap
from claims.services import (
    TRANSITIONS,
    claim_approve,
    claim_document_add,
    claim_quote,
    claim_reject,
    claim_resubmit,
    claim_return,
    claim_review,
    claim_settle,
    claim_submit,
    claims_bulk_approve,
)
from core.errors import NcmsError
from facilities.models import FacilityStatus
from policy.models import PolicyVersion
from policy.services import policy_load
from tests.claims.conftest import TODAY, facts, policy_document
from tests.factories import EnrollmentFactory, FacilityFactory, MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    monkeypatch.setattr(settlement, "_today", lambda: TODAY)


def nothing_written():
    return (Claim.objects.count(), CostLine.objects.count(), ClaimEvent.objects.count(),
            MemberYearCap.objects.count()) == (0, 0, 0, 0)


# --- valuing and storing ------------------------------------------------------------------------


def test_settle_stores_facts_figures_breakdown_policy_and_an_event(policy, facility, member, facility_clerk):
    claim, created = claim_settle(user=facility_clerk, facts=facts(member), cost_lines=[
        {"category": "drugs", "amount": "600.00", "in_catalog": True},
        {"category": "beds", "amount": "400.00", "in_catalog": True},
        {"category": "materials", "amount": "100.00", "in_catalog": False},
    ])
    claim.refresh_from_db()
    assert created is True
    assert (claim.member, claim.facility, claim.year, claim.channel) == (member, facility, 2026, Channel.FACILITY)
    assert (claim.total_cost, claim.non_reimbursable_cost, claim.reimbursable_cost) == (
        Decimal("1100.00"), Decimal("100.00"), Decimal("1000.00"))
    assert (claim.compensation, claim.patient_pays, claim.rule) == (Decimal("810.00"), Decimal("290.00"), "formula")
    assert claim.status == ClaimStatus.SUBMITTED
    assert (claim.policy, claim.policy_revision) == (policy, 1)
    assert claim.breakdown["bands"] == [
        {"from": "100.00", "to": "1000.00", "ratio": "0.90", "amount": "810.00", "base_ratio": "0.90"}]
    assert {key: claim.breakdown[key] for key in ("rule", "reimbursable", "deductible", "before_cap",
                                                   "cap_remaining", "compensation", "patient_pays")} == {
        "rule": "formula", "reimbursable": "1000.00", "deductible": "100.00", "before_cap": "810.00",
        "cap_remaining": "200000.00", "compensation": "810.00", "patient_pays": "290.00"}
    assert sorted(claim.cost_lines.values_list("category", "amount", "in_catalog")) == [
        ("beds", Decimal("400.00"), True), ("drugs", Decimal("600.00"), True), ("materials", Decimal("100.00"), False)]
    event = claim.events.get()
    assert (event.action, event.from_status, event.to_status, event.user) == (
        "settle", "", ClaimStatus.SUBMITTED, facility_clerk)
    assert MemberYearCap.objects.get(member=member, year=2026).used == Decimal("810.00")
    assert claim.history.get().history_user == facility_clerk


def test_quote_values_without_writing(policy, facility, member):
    quote = claim_quote(facts=facts(member), used_extra=Decimal("199500.00"))
    assert (quote.compensation, quote.patient_pays) == (Decimal("500.00"), Decimal("600.00"))
    assert quote.as_contract("x")["breakdown"]["cap_remaining"] == "500.00"
    assert nothing_written()


def test_cost_lines_that_do_not_add_up_are_refused(policy, facility, member, facility_clerk):
    with pytest.raises(NcmsError) as refused:
        claim_settle(user=facility_clerk, facts=facts(member),
                     cost_lines=[{"category": "drugs", "amount": "1000.00", "in_catalog": True}])
    assert refused.value.code == "bad_amounts"
    assert nothing_written()


# --- refusals -------------------------------------------------------------------------------------


def refused(code, *, user, channel=Channel.FACILITY, **changes):
    with pytest.raises(NcmsError) as error:
        claim_submit(user=user, facts=facts(**changes), channel=channel)
    assert error.value.code == code, error.value.message
    return error.value


@pytest.fixture
def admin_user(make_user):
    return make_user(Role.ADMINISTRATOR, username="admin")


def test_unknown_member(policy, facility, admin_user):
    refused("unknown_member", user=admin_user, id_number="420102199001011234")
    assert nothing_written()


def test_unknown_facility(policy, member, admin_user):
    refused("unknown_facility", user=admin_user, id_number=member.id_number, facility="NOPE")
    assert nothing_written()


def test_not_enrolled_in_the_discharge_year(policy, facility, village, admin_user):
    stranger = MemberFactory(household__village=village)
    EnrollmentFactory(member=stranger, year=2025)
    refused("not_enrolled", user=admin_user, id_number=stranger.id_number)
    assert nothing_written()


def test_facility_suspended_on_the_admission_date(policy, facility, member, admin_user):
    facility.status, facility.suspended_from = FacilityStatus.SUSPENDED, date(2026, 3, 1)
    facility.save()
    refused("facility_suspended", user=admin_user, id_number=member.id_number)
    # admitted before the suspension began: still a designated stay
    claim = claim_submit(user=admin_user, channel=Channel.FACILITY, facts=facts(
        member, admission_date="2026-02-20", discharge_date="2026-02-27"))
    assert claim.compensation == Decimal("810.00")


def test_admission_outside_the_agreement_is_not_designated(policy, member, township, admin_user):
    FacilityFactory(code="F001", township=township, agreement_start=date(2026, 4, 1))
    refused("facility_not_designated", user=admin_user, id_number=member.id_number)
    assert nothing_written()


@pytest.mark.parametrize("changes", [
    {"admission_date": "2026-03-09"},  # discharge before admission
    {"admission_date": "2025-12-20", "discharge_date": "2025-12-28"},  # year 2025 has no policy... but dates first
    {"discharge_date": "2026-02-30"},
    {"discharge_date": "08/03/2026"},
])
def test_bad_dates(policy, facility, member, admin_user, changes):
    code = "no_policy" if changes.get("discharge_date") == "2025-12-28" else "bad_dates"
    refused(code, user=admin_user, id_number=member.id_number, **changes)
    assert nothing_written()


@pytest.mark.parametrize("changes", [
    {"total_cost": "-1.00"}, {"non_reimbursable_cost": "1200.00"}, {"total_cost": "1100.001"},
    {"total_cost": 1100.5}, {"total_cost": "abc"},
])
def test_bad_amounts(policy, facility, member, admin_user, changes):
    with pytest.raises(NcmsError) as error:
        claim_submit(user=admin_user, channel=Channel.FACILITY, facts=facts(member, **changes))
    assert error.value.code == "bad_amounts"
    assert nothing_written()


def test_an_overlapping_stay_at_another_facility_is_not_described(policy, facility, county_facility, member,
                                                                    admin_user):
    """The refusal tells a facility that the member's stay overlaps another, never where or when
    the other stay was when it was at another facility; at the same facility it says when."""
    claim_submit(user=admin_user, channel=Channel.FACILITY, facts=facts(member))  # F001, 03-01 to 03-08
    elsewhere = refused("overlapping_stay", user=admin_user, id_number=member.id_number, facility="F002",
                        invoice_no="X-1", admission_date="2026-03-07", discharge_date="2026-03-10")
    assert elsewhere.message == "住院期间 2026-03-07 至 2026-03-10 与该人员在其他机构的一次住院重叠"
    for secret in ("2026-03-01", "2026-03-08", facility.code, facility.name):
        assert secret not in elsewhere.message
    same = refused("overlapping_stay", user=admin_user, id_number=member.id_number, invoice_no="X-2",
                   admission_date="2026-03-07", discharge_date="2026-03-10")
    assert same.message == "住院期间 2026-03-07 至 2026-03-10 与该人员另一次住院（2026-03-01 至 2026-03-08）重叠"


def test_overlapping_stay_with_a_non_rejected_claim(policy, facility, county_facility, member, admin_user, reviewer,
                                                    reason):
    first = claim_submit(user=admin_user, channel=Channel.FACILITY, facts=facts(member))
    refused("overlapping_stay", user=admin_user, id_number=member.id_number, facility="F002",
            invoice_no="X-1", admission_date="2026-03-07", discharge_date="2026-03-10")
    # discharged the day the next stay begins: no overlap
    claim_submit(user=admin_user, channel=Channel.FACILITY, facts=facts(
        member, facility="F002", invoice_no="X-2", admission_date="2026-03-08", discharge_date="2026-03-09"))
    # a rejected claim's stay no longer blocks
    claim_reject(user=reviewer, claim=first, reason=reason)
    claim_submit(user=admin_user, channel=Channel.FACILITY, facts=facts(
        member, facility="F002", invoice_no="X-3", admission_date="2026-03-02", discharge_date="2026-03-05"))
    assert Claim.objects.count() == 3


def test_duplicate_invoice_at_the_facility(policy, facility, county_facility, member, other_member, admin_user):
    claim_submit(user=admin_user, channel=Channel.FACILITY, facts=facts(member))
    refused("duplicate_invoice", user=admin_user, id_number=other_member.id_number)
    # the same number at another facility is another invoice
    claim_submit(user=admin_user, channel=Channel.FACILITY,
                 facts=facts(other_member, facility="F002"))
    assert Claim.objects.count() == 2


def test_no_policy_for_the_discharge_year(facility, member, admin_user):
    refused("no_policy", user=admin_user, id_number=member.id_number)
    assert nothing_written()


def test_past_deadline_only_for_township_office_claims(policy, facility, member, clerk, admin_user, monkeypatch):
    # discharged 2026-03-08, deadline 90 days: the last day is 2026-06-06
    monkeypatch.setattr(settlement, "_today", lambda: date(2026, 6, 7))
    refused("past_deadline", user=clerk, channel=Channel.TOWNSHIP, id_number=member.id_number)
    assert nothing_written()
    claim_settle(user=admin_user, facts=facts(member))  # at the facility, no deadline
    monkeypatch.setattr(settlement, "_today", lambda: date(2026, 6, 6))
    claim = claim_submit(user=clerk, channel=Channel.TOWNSHIP, facts=facts(
        member, invoice_no="INV-2", admission_date="2026-03-08", discharge_date="2026-03-08"))
    assert claim.channel == Channel.TOWNSHIP


def test_a_clerk_enters_claims_of_their_township_only(policy, facility, other_member, clerk, facility_clerk,
                                                        county_facility):
    with pytest.raises(NcmsError) as error:
        claim_submit(user=clerk, channel=Channel.TOWNSHIP, facts=facts(other_member))
    assert error.value.code == "out_of_scope"
    with pytest.raises(NcmsError) as error:
        claim_settle(user=facility_clerk, facts=facts(other_member, facility="F002"))
    assert error.value.code == "out_of_scope"
    assert nothing_written()


# --- the annual cap ---------------------------------------------------------------------------


def test_cap_holds_across_claims_and_reject_frees_it(small_cap_policy, facility, member, admin_user, reviewer,
                                                      reason):
    first = claim_settle(user=admin_user, facts=facts(member))[0]
    second = claim_settle(user=admin_user, facts=facts(member, invoice_no="INV-2", admission_date="2026-03-10",
                                                       discharge_date="2026-03-14"))[0]
    assert (first.compensation, second.compensation) == (Decimal("810.00"), Decimal("190.00"))
    assert second.breakdown["cap_remaining"] == "190.00" and second.breakdown["capped"] is True
    assert second.patient_pays == Decimal("910.00")
    assert MemberYearCap.objects.get(member=member).used == Decimal("1000.00")
    third_facts = facts(member, invoice_no="INV-3", admission_date="2026-03-15", discharge_date="2026-03-19")
    assert claim_quote(facts=third_facts).compensation == Decimal("0.00")

    claim_reject(user=reviewer, claim=first, reason=reason)
    assert MemberYearCap.objects.get(member=member).used == Decimal("190.00")
    third = claim_settle(user=admin_user, facts=third_facts)[0]
    assert third.compensation == Decimal("810.00")
    assert MemberYearCap.objects.get(member=member).used == Decimal("1000.00")


def test_returned_claims_still_hold_the_cap_and_resubmission_revalues(small_cap_policy, facility, member,
                                                                       admin_user, reviewer):
    first = claim_settle(user=admin_user, facts=facts(member))[0]
    claim_return(user=reviewer, claim=first, note="发票不清晰")
    second = claim_settle(user=admin_user, facts=facts(member, invoice_no="INV-2", admission_date="2026-03-10",
                                                       discharge_date="2026-03-14"))[0]
    assert second.compensation == Decimal("190.00")
    corrected = facts(member, total_cost="600.00", non_reimbursable_cost="0.00")
    resubmitted = claim_resubmit(user=admin_user, claim=first, facts=corrected)
    # R = 600, 0.90 × (600 − 100) = 450.00, within what the cap leaves beside the second claim (810.00)
    assert (resubmitted.status, resubmitted.compensation, resubmitted.total_cost) == (
        ClaimStatus.SUBMITTED, Decimal("450.00"), Decimal("600.00"))
    assert MemberYearCap.objects.get(member=member).used == Decimal("640.00")
    assert list(resubmitted.events.values_list("action", flat=True)) == ["settle", "return", "resubmit"]


# --- the workflow -----------------------------------------------------------------------------


def test_transitions_table():
    S = ClaimStatus
    assert {action: (set(sources), target) for action, (sources, target) in TRANSITIONS.items()} == {
        "review": ({S.SUBMITTED}, S.REVIEWED),
        "approve": ({S.REVIEWED}, S.APPROVED),
        "return": ({S.SUBMITTED, S.REVIEWED}, S.RETURNED),
        "reject": ({S.SUBMITTED, S.REVIEWED, S.RETURNED}, S.REJECTED),
        "resubmit": ({S.RETURNED}, S.SUBMITTED),
        "pay": ({S.APPROVED}, S.PAID),
    }


def test_review_then_approve_by_another_user_records_events(policy, facility, member, admin_user, reviewer,
                                                              approver):
    claim = claim_settle(user=admin_user, facts=facts(member))[0]
    claim_review(user=reviewer, claim=claim)
    with pytest.raises(NcmsError) as error:
        claim_approve(user=reviewer, claim=claim)
    assert error.value.code == "approver_is_reviewer"
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.REVIEWED
    claim_approve(user=approver, claim=claim)
    claim.refresh_from_db()
    assert (claim.status, claim.reviewed_by, claim.approved_by) == (ClaimStatus.APPROVED, reviewer, approver)
    assert claim.reviewed_at is not None and claim.approved_at >= claim.reviewed_at
    assert list(claim.events.values_list("action", "from_status", "to_status", "user__username")) == [
        ("settle", "", "submitted", "admin"),
        ("review", "submitted", "reviewed", "reviewer"),
        ("approve", "reviewed", "approved", "approver"),
    ]


def test_every_step_is_in_the_claim_history_with_who_why_and_the_row_as_saved(policy, facility, member,
                                                                             admin_user, reviewer, approver):
    """Each history row holds the claim as it stood after its step (as saved), with the step's
    user and words."""
    tracked = [f.attname for f in Claim.history.model.tracked_fields]

    def saved() -> dict:
        return Claim.objects.filter(pk=claim.pk).values(*tracked).get()

    claim = claim_settle(user=admin_user, facts=facts(member))[0]
    states = [saved()]
    claim_review(user=reviewer, claim=claim)
    states.append(saved())
    claim_approve(user=approver, claim=Claim.objects.get(pk=claim.pk))
    states.append(saved())

    records = list(claim.history.order_by("history_id"))
    assert [(r.history_type, r.history_user, r.history_change_reason, r.status) for r in records] == [
        ("+", admin_user, services.ACTION_WORDS["settle"], ClaimStatus.SUBMITTED),
        ("~", reviewer, services.ACTION_WORDS["review"], ClaimStatus.REVIEWED),
        ("~", approver, services.ACTION_WORDS["approve"], ClaimStatus.APPROVED),
    ]
    assert [{name: getattr(record, name) for name in tracked} for record in records] == states
    assert records[0].history_date <= records[1].history_date <= records[2].history_date
    assert records[1].compensation == claim.compensation and records[2].reviewed_by == reviewer


def test_transitions_outside_the_table_are_refused(policy, facility, member, admin_user, reviewer, approver,
                                                   reason):
    claim = claim_settle(user=admin_user, facts=facts(member))[0]
    with pytest.raises(NcmsError) as error:
        claim_approve(user=approver, claim=claim)  # not reviewed yet
    assert error.value.code == "bad_transition"
    with pytest.raises(NcmsError) as error:
        claim_resubmit(user=admin_user, claim=claim)  # not returned
    assert error.value.code == "bad_transition"
    claim_reject(user=reviewer, claim=claim, reason=reason)
    for attempt in (lambda: claim_review(user=reviewer, claim=claim),
                    lambda: claim_return(user=reviewer, claim=claim, note="x"),
                    lambda: claim_reject(user=reviewer, claim=claim, reason=reason)):
        with pytest.raises(NcmsError) as error:
            attempt()
        assert error.value.code == "bad_transition"
    claim.refresh_from_db()
    assert (claim.status, claim.rejection_reason) == (ClaimStatus.REJECTED, reason)
    assert claim.events.count() == 2


def test_return_needs_a_note(policy, facility, member, admin_user, reviewer):
    claim = claim_settle(user=admin_user, facts=facts(member))[0]
    with pytest.raises(NcmsError) as error:
        claim_return(user=reviewer, claim=claim, note="  ")
    assert error.value.code == "note_required"
    assert Claim.objects.get().status == ClaimStatus.SUBMITTED


def test_bulk_approve_is_all_or_nothing(policy, facility, member, other_member, admin_user, reviewer, approver,
                                        make_user):
    one = claim_settle(user=admin_user, facts=facts(member))[0]
    two = claim_settle(user=admin_user, facts=facts(other_member, invoice_no="INV-2"))[0]
    other_reviewer = make_user(Role.REVIEWER, username="reviewer2")
    claim_review(user=reviewer, claim=one)
    claim_review(user=other_reviewer, claim=two)
    with pytest.raises(NcmsError):
        claims_bulk_approve(user=reviewer, claims=[one, two])  # reviewed `one` himself
    assert set(Claim.objects.values_list("status", flat=True)) == {ClaimStatus.REVIEWED}
    approved = claims_bulk_approve(user=approver, claims=Claim.objects.all())
    assert [claim.pk for claim in approved] == sorted([one.pk, two.pk])
    assert set(Claim.objects.values_list("status", flat=True)) == {ClaimStatus.APPROVED}


@pytest.mark.parametrize("who", ["superuser", "reviewer"])
def test_the_reviewer_never_approves_alone_or_in_a_batch(policy, facility, member, other_member, admin_user,
                                                         reviewer, approver, make_user, who):
    """Separation of duties holds for everybody: a superuser (who carries every capability) who
    reviewed a claim is refused its approval like an ordinary reviewer, one at a time or in a
    batch, which is refused whole and names the claim; nothing is written."""
    user = make_user(Role.ADMINISTRATOR, username="root", is_superuser=True, is_staff=True) \
        if who == "superuser" else reviewer
    one = claim_settle(user=admin_user, facts=facts(member))[0]
    two = claim_settle(user=admin_user, facts=facts(other_member, invoice_no="INV-2"))[0]
    claim_review(user=approver, claim=one)
    claim_review(user=user, claim=two)
    events = ClaimEvent.objects.count()
    with pytest.raises(NcmsError) as refused:
        claim_approve(user=user, claim=two)
    assert (refused.value.code, refused.value.message) == (
        "approver_is_reviewer", "补偿申请 INV-2 由您审核，审批须由另一位工作人员进行")
    with pytest.raises(NcmsError) as refused:
        claims_bulk_approve(user=user, claims=[one, two])
    assert (refused.value.code, refused.value.message) == (
        "approver_is_reviewer", "补偿申请 INV-2 由您审核，审批须由另一位工作人员进行")
    assert set(Claim.objects.values_list("status", flat=True)) == {ClaimStatus.REVIEWED}
    assert Claim.objects.filter(approved_by__isnull=False).count() == 0
    assert ClaimEvent.objects.count() == events
    assert [claim.pk for claim in claims_bulk_approve(user=user, claims=[one])] == [one.pk]


def test_events_are_append_only(policy, facility, member, admin_user):
    claim = claim_settle(user=admin_user, facts=facts(member))[0]
    event = claim.events.get()
    event.note = "changed"
    with pytest.raises(NcmsError):
        event.save()
    with pytest.raises(NcmsError):
        ClaimEvent.objects.all().delete()
    with pytest.raises(NcmsError):
        ClaimEvent.objects.update(note="x")
    assert ClaimEvent.objects.get().note == ""


# --- idempotent settlement -------------------------------------------------------------------


def test_settling_again_returns_the_same_claim(policy, facility, member, facility_clerk):
    first, created = claim_settle(user=facility_clerk, facts=facts(member))
    again, created_again = claim_settle(user=facility_clerk, facts=facts(member))
    assert (created, created_again, again.pk) == (True, False, first.pk)
    assert (Claim.objects.count(), ClaimEvent.objects.count()) == (1, 1)
    with pytest.raises(NcmsError) as error:
        claim_settle(user=facility_clerk, facts=facts(member, total_cost="1200.00"))
    assert error.value.code == "duplicate_invoice"
    assert Claim.objects.get().total_cost == Decimal("1100.00")


# --- policy replaced later ---------------------------------------------------------------------


def test_replacing_the_policy_does_not_change_stored_claims(policy, facility, member, admin_user):
    claim = claim_settle(user=admin_user, facts=facts(member))[0]
    stored = dict(claim.breakdown)
    policy_load(data=policy_document(levels={**policy_document()["levels"],
                                             "township": {"deductible": "0.00",
                                                          "bands": [{"up_to": None, "ratio": "0.50"}]}}))
    claim.refresh_from_db()
    assert (claim.compensation, claim.policy_revision, claim.breakdown) == (Decimal("810.00"), 1, stored)
    assert PolicyVersion.objects.get().revision == 2
    later = claim_settle(user=admin_user, facts=facts(member, invoice_no="INV-2", admission_date="2026-03-10",
                                                      discharge_date="2026-03-12"))[0]
    assert (later.compensation, later.policy_revision) == (Decimal("500.00"), 2)


# --- documents and scoping -------------------------------------------------------------------------


def test_documents_are_checked_by_their_bytes_and_size(policy, facility, member, admin_user, settings):
    claim = claim_settle(user=admin_user, facts=facts(member))[0]
    document = claim_document_add(user=admin_user, claim=claim, upload=SimpleUploadedFile(
        "invoice.jpg", b"%PDF-1.4 scanned invoice", content_type="image/jpeg"))
    assert (document.content_type, document.size, document.uploaded_by) == ("application/pdf", 24, admin_user)
    with pytest.raises(NcmsError) as error:
        claim_document_add(user=admin_user, claim=claim, upload=SimpleUploadedFile(
            "invoice.pdf", b"MZ\x90\x00 not a scan", content_type="application/pdf"))
    assert error.value.code == "bad_file_type"
    settings.CLAIM_DOCUMENT_MAX_BYTES = 100
    with pytest.raises(NcmsError) as error:
        claim_document_add(user=admin_user, claim=claim, upload=SimpleUploadedFile(
            "big.png", b"\x89PNG\r\n\x1a\n" + b"0" * 200, content_type="image/png"))
    assert error.value.code == "file_too_large"
    assert ClaimDocument.objects.count() == 1


def test_for_user_scopes_claims(policy, facility, county_facility, member, other_member, admin_user, clerk,
                                other_clerk, facility_clerk, reviewer, make_user):
    mine = claim_settle(user=admin_user, facts=facts(member))[0]
    theirs = claim_settle(user=admin_user, facts=facts(other_member, facility="F002"))[0]
    cashier = make_user(Role.CASHIER, username="cashier")
    assert list(Claim.objects.for_user(clerk)) == [mine]
    assert list(Claim.objects.for_user(other_clerk)) == [theirs]
    assert list(Claim.objects.for_user(facility_clerk)) == [mine]
    assert set(Claim.objects.for_user(reviewer)) == set(Claim.objects.for_user(cashier)) == {mine, theirs}
    assert list(ClaimEvent.objects.for_user(other_clerk).values_list("claim", flat=True)) == [theirs.pk]
    from django.contrib.auth.models import AnonymousUser

    assert not Claim.objects.for_user(AnonymousUser()).exists()


# --- statements per settlement (kept from regressing) -------------------------------------------

COST_LINES = [{"category": "drugs", "amount": "600.00", "in_catalog": True},
              {"category": "beds", "amount": "400.00", "in_catalog": True},
              {"category": "materials", "amount": "100.00", "in_catalog": False}]


def test_a_settlement_takes_few_sql_statements(policy, facility, member, facility_clerk,
                                               django_assert_max_num_queries):
    claim_settle(user=facility_clerk, facts=facts(member, invoice_no="WARM-1", admission_date="2026-01-02",
                                                 discharge_date="2026-01-05"))  # policy parsed, cap row made
    clerk = type(facility_clerk).objects.select_related("facility").get(pk=facility_clerk.pk)
    # 9: member (with enrolment and the policy's key), cap lock, the invoice, the stays, the claim,
    # its history row, the cost lines, the event, the cap's new sum; + 2 because the test's own
    # transaction makes the service's (uncounted BEGIN/COMMIT) a SAVEPOINT/RELEASE pair.
    with django_assert_max_num_queries(9 + 2):
        claim, created = claim_settle(user=clerk, facts=facts(member), cost_lines=COST_LINES)
        assert len(claim.cost_lines.all()) == 3  # handed back with its lines: no query
    assert created is True
    assert MemberYearCap.objects.get(member=member, year=2026).used == Decimal("810.00") + Decimal("810.00")
    # a retry: member, cap lock, the invoice, its claim (with member, facility, policy), the
    # claim's cost lines (+ savepoint)
    with django_assert_max_num_queries(5 + 2):
        again, created_again = claim_settle(user=clerk, facts=facts(member), cost_lines=COST_LINES)
        assert (again.pk, created_again, again.facility.code, again.policy.year) == (claim.pk, False, "F001", 2026)
        assert len(again.cost_lines.all()) == 3


def test_a_settlement_over_the_api_takes_few_sql_statements(policy, facility, member, facility_clerk,
                                                            django_assert_max_num_queries):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=facility_clerk).key}")
    body = {"id_number": member.id_number, "invoice_no": "F001-2026-000001", "admission_date": "2026-03-01",
            "discharge_date": "2026-03-08", "total_cost": "1100.00", "non_reimbursable_cost": "100.00",
            "referred": False, "diagnosis": "J18.9", "delivery": None, "cost_lines": COST_LINES}
    warm = api.post("/api/v1/quote/", {k: v for k, v in body.items() if k != "cost_lines"}, format="json")
    assert warm.status_code == 200, warm.content
    # the token with its user and facility, then the settlement's 9 (the first of the member:
    # the cap row is created by the same statement that locks it); + 2 for the savepoint pair
    with django_assert_max_num_queries(10 + 2):
        response = api.post("/api/v1/claims/", body, format="json")
    assert response.status_code == 201, response.content
    assert len(response.json()["cost_lines"]) == 3


def test_a_retry_must_state_every_fact_also_the_cost_lines(policy, facility, member, facility_clerk):
    first, _ = claim_settle(user=facility_clerk, facts=facts(member), cost_lines=COST_LINES)
    shuffled = list(reversed(COST_LINES))
    again, created = claim_settle(user=facility_clerk, facts=facts(member), cost_lines=shuffled)
    assert (again.pk, created) == (first.pk, False)
    other_lines = [{"category": "drugs", "amount": "500.00", "in_catalog": True},
                   {"category": "beds", "amount": "500.00", "in_catalog": True},
                   {"category": "materials", "amount": "100.00", "in_catalog": False}]
    for retry in (dict(cost_lines=other_lines), dict(cost_lines=()),
                  dict(facts_changes={"diagnosis_text": "另一诊断"})):
        with pytest.raises(NcmsError) as error:
            claim_settle(user=facility_clerk, facts=facts(member, **retry.get("facts_changes", {})),
                         cost_lines=retry.get("cost_lines", COST_LINES))
        assert error.value.code == "duplicate_invoice"
    assert (Claim.objects.count(), CostLine.objects.count(), ClaimEvent.objects.count()) == (1, 3, 1)
    assert sorted(Claim.objects.get().cost_lines.values_list("amount", flat=True)) == [
        Decimal("100.00"), Decimal("400.00"), Decimal("600.00")]


def test_the_policy_parsed_once_is_read_afresh_after_a_replacement(policy, facility, member, other_member,
                                                                   admin_user):
    first, _ = claim_settle(user=admin_user, facts=facts(member, invoice_no="P-1"))
    replaced = policy_load(data=policy_document(annual_cap="500.00"))
    second, _ = claim_settle(user=admin_user, facts=facts(other_member, invoice_no="P-2"))
    assert (first.policy_revision, first.compensation) == (1, Decimal("810.00"))
    assert (replaced.revision, second.policy_revision, second.compensation) == (2, 2, Decimal("500.00"))


def test_a_unique_invoice_race_is_refused_as_duplicate_invoice(policy, facility, member, other_member,
                                                               admin_user, monkeypatch):
    # another member's claim with this invoice commits between our check and our insert
    claim_settle(user=admin_user, facts=facts(other_member, invoice_no="RACE-1"))
    monkeypatch.setattr(lookups, "invoice_taken", lambda *args, **kwargs: False)
    real_write = settlement._claim_write

    def unseen(**kwargs):
        original = Claim.objects.filter

        def hide(*args, **filters):
            rows = original(*args, **filters)
            return rows.none() if filters.get("invoice_no") == "RACE-1" else rows

        monkeypatch.setattr(Claim.objects, "filter", hide)
        try:
            return real_write(**kwargs)
        finally:
            monkeypatch.setattr(Claim.objects, "filter", original)

    monkeypatch.setattr(settlement, "_claim_write", unseen)
    with pytest.raises(NcmsError) as error:
        claim_settle(user=admin_user, facts=facts(member, invoice_no="RACE-1"))
    assert error.value.code == "duplicate_invoice"
    assert Claim.objects.filter(member=member).count() == 0
    assert not MemberYearCap.objects.filter(member=member).exists()
