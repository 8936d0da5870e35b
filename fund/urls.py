from django.urls import path

from . import views

app_name = "fund"
urlpatterns = [
    path("", views.ledger, name="ledger"),
    path("income/", views.income_create, name="income_create"),
    path("transfer/", views.transfer_create, name="transfer_create"),
    path("payouts/", views.payout_queue, name="payout_queue"),
    path("payouts/pay/", views.payout_pay, name="payout_pay"),
    path("payouts/bank-file.xlsx", views.bank_file, name="bank_file"),
    path("reconciliation/", views.reconciliation_view, name="reconciliation"),
]
