"""The writes of the claims app, in one place for their callers (views, API, importing, the fund,
tests, benches): each lives in the module of the rule it implements.

- `claims.settlement`: `claim_submit` (township office), `claim_settle` (facility, instant
  settlement at discharge, idempotent by invoice), `claim_resubmit`, and `claim_quote`, which
  values without writing (docs/contract.md, "quote_claims lines" and "Policy file").
- `claims.workflow`: `claim_review`, `claim_approve`, `claims_bulk_approve`, `claim_return`,
  `claim_reject`, `claim_transition` with `TRANSITIONS` and `ACTION_WORDS` (docs/rules.md,
  "Claims"), and the separation of duties every step and payout checks (`check_not_reviewer`,
  `check_not_approver`; docs/rules.md, "Money flow").
- `claims.documents`: `claim_document_add`, the scans attached to a claim.
- `claims.recovery`: `claim_recover`, a recovery (追回) of a paid claim, releasing the member's cap.
- `claims.referrals`: `referral_issue` and `referral_cancel`, the referral records (转诊单) a
  claim at a level the policy reduces for the unreferred rests on.
- `claims.cap`: the member's annual cap under its row lock, taken by every write that changes what
  a member holds against it.
"""
from .documents import claim_document_add
from .recovery import claim_recover, recovered_total
from .referrals import referral_cancel, referral_issue
from .settlement import Quote, claim_quote, claim_requote, claim_resubmit, claim_settle, claim_submit
from .workflow import (
    ACTION_WORDS,
    TRANSITIONS,
    check_not_approver,
    check_not_reviewer,
    claim_approve,
    claim_reject,
    claim_return,
    claim_review,
    claim_transition,
    claims_bulk_approve,
)

__all__ = [
    "ACTION_WORDS", "TRANSITIONS", "Quote", "claim_approve", "claim_document_add", "claim_quote",
    "claim_reject", "claim_requote", "claim_resubmit", "claim_return", "claim_review", "claim_settle", "claim_submit",
    "check_not_approver", "check_not_reviewer", "claim_recover", "claim_transition", "claims_bulk_approve",
    "recovered_total", "referral_cancel", "referral_issue",
]
