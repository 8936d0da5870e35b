from django.urls import path

from . import views, views_recoveries, views_simulation, views_statements

app_name = "fund"
urlpatterns = [
    path("", views.ledger, name="ledger"),
    path("income/", views.income_create, name="income_create"),
    path("transfer/", views.transfer_create, name="transfer_create"),
    path("payouts/", views.payout_queue, name="payout_queue"),
    path("payouts/pay/", views.payout_pay, name="payout_pay"),
    path("payouts/bank-file.xlsx", views.bank_file, name="bank_file"),
    path("reconciliation/", views.reconciliation_view, name="reconciliation"),
    # facilities' monthly settlement statements (结算单)
    path("statements/", views_statements.statement_list, name="statements"),
    path("statements/bank-file.xlsx", views_statements.statement_bank_file, name="statement_bank_file"),
    path("statements/<str:code>/<int:year>/<int:month>/", views_statements.statement_detail,
         name="statement_detail"),
    path("statements/<str:code>/<int:year>/<int:month>/pay", views_statements.statement_pay_view,
         name="statement_pay"),
    path("statements/<str:code>/<int:year>/<int:month>/pdf", views_statements.statement_pdf,
         name="statement_pdf"),
    path("recoveries/", views_recoveries.recovery_list, name="recovery_list"),
    path("recoveries/<int:pk>/refund/", views_recoveries.refund_create, name="refund_create"),
    # policy simulation (补偿方案测算): drafts, runs, comparison, adoption
    path("simulation/", views_simulation.draft_list, name="simulation_list"),
    path("simulation/new/", views_simulation.draft_new, name="simulation_new"),
    path("simulation/new/file/", views_simulation.draft_new_file, name="simulation_new_file"),
    path("simulation/compare/", views_simulation.compare, name="simulation_compare"),
    path("simulation/compare.xlsx", views_simulation.compare_xlsx, name="simulation_compare_xlsx"),
    path("simulation/compare.pdf", views_simulation.compare_pdf, name="simulation_compare_pdf"),
    path("simulation/<int:pk>/", views_simulation.draft_detail, name="simulation_draft"),
    path("simulation/<int:pk>/edit/", views_simulation.draft_edit, name="simulation_edit"),
    path("simulation/<int:pk>/run", views_simulation.draft_run, name="simulation_run"),
    path("simulation/<int:pk>/adopt", views_simulation.draft_adopt_view, name="simulation_adopt"),
    path("simulation/runs/<int:pk>/progress", views_simulation.run_progress, name="simulation_progress"),
    path("simulation/runs/<int:pk>/cancel", views_simulation.run_cancel, name="simulation_cancel"),
]
