from django.urls import path

from . import views, views_policy, views_referral

app_name = "claims"
urlpatterns = [
    # the workbench queue and bulk approval
    path("", views.claim_list, name="claim_list"),
    path("bulk-approve/", views.claims_bulk_approve, name="bulk_approve"),
    # township-office entry with the live quote
    path("new/", views.claim_create, name="claim_create"),
    path("new/members/", views.member_lookup, name="member_lookup"),
    path("new/quote/", views.claim_quote_preview, name="claim_quote_preview"),
    # one claim: page, workflow steps, documents, settlement slip
    path("<int:pk>/", views.claim_detail, name="claim_detail"),
    path("<int:pk>/review/", views.claim_review, name="claim_review"),
    path("<int:pk>/approve/", views.claim_approve, name="claim_approve"),
    path("<int:pk>/return/", views.claim_return, name="claim_return"),
    path("<int:pk>/reject/", views.claim_reject, name="claim_reject"),
    path("<int:pk>/recover/", views.claim_recover, name="claim_recover"),
    path("<int:pk>/resubmit/", views.claim_resubmit, name="claim_resubmit"),
    path("<int:pk>/correct/", views.claim_correct, name="claim_correct"),
    path("<int:pk>/correct/quote/", views.claim_correct_quote, name="claim_correct_quote"),
    path("<int:pk>/documents/", views.document_upload, name="document_upload"),
    path("<int:pk>/slip.pdf", views.claim_slip_pdf, name="claim_slip_pdf"),
    path("documents/<int:pk>/", views.document_download, name="document_download"),
    # referral records (转诊单)
    path("referrals/", views_referral.referral_list, name="referral_list"),
    path("referrals/new/", views_referral.referral_create, name="referral_create"),
    path("referrals/<int:pk>/", views_referral.referral_detail, name="referral_detail"),
    path("referrals/<int:pk>/cancel/", views_referral.referral_cancel, name="referral_cancel"),
    # the scheme year's policy, read-only
    path("policy/", views_policy.policy_detail, name="policy_detail"),
]
