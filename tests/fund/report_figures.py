"""The demo county's report for November 2026 as fund.report.monthly_report_figures gives it
(four townships, year-to-date amounts of six digits, a fund of seven): the figures the report's
page, charts and PDF are laid out for in the layout tests, without building 20,000 members."""
from decimal import Decimal

COLUMNS = ["population", "participants", "participation_rate", "admissions", "admissions_ytd",
           "total_cost", "total_cost_ytd", "reimbursable_cost", "reimbursable_cost_ytd", "compensation",
           "compensation_ytd", "recovered", "recovered_ytd", "avg_cost_per_admission", "compensation_ratio",
           "beneficiary_rate", "fund_raised", "fund_available", "fund_usage_rate"]
ROWS = [  # township, name, then COLUMNS
    ("420102100", "城关镇", 5425, 5234, "0.9648", 2, 15, "58098.31", "135970.25", "53363.28", "122888.33",
     "30817.97", "85671.01", "0.00", "1927.95", "9064.68", "0.6301", "0.0029", None, None, None),
    ("420102101", "石桥镇", 4938, 4805, "0.9731", 0, 18, "0.00", "234880.57", "0.00", "204750.01",
     "0.00", "129081.39", "0.00", "245.24", "13048.92", "0.5496", "0.0037", None, None, None),
    ("420102200", "河口乡", 4843, 4742, "0.9791", 1, 23, "43929.58", "191588.75", "40411.55", "169171.59",
     "19705.78", "99675.04", "0.00", "0.00", "8329.95", "0.5203", "0.0044", None, None, None),
    ("420102201", "青山乡", 4914, 4622, "0.9406", 0, 14, "0.00", "118076.44", "0.00", "102808.37",
     "0.00", "67293.62", "0.00", "0.00", "8434.03", "0.5699", "0.0028", None, None, None),
    ("county", "示范县", 20120, 19403, "0.9644", 3, 70, "102027.89", "680516.01", "93774.83", "599618.30",
     "50523.75", "381721.06", "0.00", "2173.19", "9721.66", "0.5609", "0.0035", "8618303.00", "8359753.91",
     "0.0457"),
]
# compensation paid in each month of 2026 up to November (the bar chart)
MONTHLY_COMPENSATION = [(month, Decimal(amount)) for month, amount in enumerate(
    ["0.00", "44923.53", "59518.40", "40049.09", "42447.17", "25134.74", "24236.91", "0.00", "27459.85",
     "67427.62", "50523.75"], start=1)]


def _value(value):
    return Decimal(value) if isinstance(value, str) else value


def demo_figures() -> dict:
    rows = [{"township": code, "name": name, **{key: _value(v) for key, v in zip(COLUMNS, values)}}
            for code, name, *values in ROWS]
    return {"year": 2026, "month": 11, "rows": rows, "warnings": [
        {"kind": "underuse", "township": "county",
         "message": "全县基金使用率 4.57% 低于 11 月进度 91.67% 的 85%（77.92%），基金结余过多。"},
        {"kind": "low_participation", "township": "420102201", "message": "青山乡参合率 94.06% 低于 95%。"},
    ]}


def use_demo_figures(monkeypatch):
    """The report's page and PDF show demo_figures() and the monthly compensation above."""
    from fund import report_output, views_report

    monkeypatch.setattr(views_report, "monthly_report_figures", lambda *, year, month: demo_figures())
    monkeypatch.setattr(report_output, "monthly_compensation", lambda *, year, month, township=None: MONTHLY_COMPENSATION)
