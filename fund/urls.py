from django.urls import path

from . import views, views_recoveries

app_name = "fund"
urlpatterns = [
    path("", views.ledger, name="ledger"),
    path("income/", views.income_create, name="income_create"),
    path("transfer/", views.transfer_create, name="transfer_create"),
    path("payouts/", views.payout_queue, name="payout_queue"),
    path("payouts/pay/", views.payout_pay, name="payout_pay"),
    path("payouts/bank-file.xlsx", views.bank_file, name="bank_file"),
    path("reconciliation/", views.reconciliation_view, name="reconciliation"),
    path("recoveries/", views_recoveries.recovery_list, name="recovery_list"),
    path("recoveries/<int:pk>/refund/", views_recoveries.refund_create, name="refund_create"),
]
