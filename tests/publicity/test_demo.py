"""seed_demo's publicity part (publicity/demo.py): paid claims, notices, an objection, a report."""
from io import StringIO

from django.core.management import call_command

from claims.models import Claim, ClaimStatus
from fund.selectors import reconciliation
from publicity.models import Notice, NoticeLine, Objection, Report


def test_default_demo_pays_claims_and_posts_their_notices(db, clock):
    clock("2026-11-30 10:00")  # the demo pays claims of the current year: on 1 January it has none
    call_command("seed_demo", "--members", "600", "--seed", "5", stdout=StringIO())
    paid = Claim.objects.filter(status=ClaimStatus.PAID)
    assert paid.exists()
    assert NoticeLine.objects.count() == paid.count()
    assert set(NoticeLine.objects.values_list("claim", flat=True)) == set(paid.values_list("pk", flat=True))
    assert Notice.objects.exists() and Objection.objects.count() == 1 and Report.objects.count() == 1
    objection = Objection.objects.get()  # answered by the clerk of its township
    assert objection.answered_by.township_id == objection.line.notice.village.township_id and objection.answer
    year = paid.first().year
    # every payout agrees with its claim (the demo's contributions are not booked as income yet:
    # enrollment/demo.py writes enrollments as plain rows)
    assert [d for d in reconciliation(year) if d.kind in ("payouts", "unbalanced", "negative", "balance")] == []
