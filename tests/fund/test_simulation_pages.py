"""The policy simulation pages (/fund/simulation/, 补偿方案测算): a draft from a year's policy, refused
with every problem listed; its run by the worker, joined when one is running; the result current
beside draft; two drafts compared (page and XLSX); a draft adopted as a year's policy; who may do
what."""
import json
import re
import subprocess
from decimal import Decimal
from io import BytesIO

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from accounts.models import Role
from fund.drafts import simulation_execute, simulation_start
from fund.models import PolicyDraft, SimulationRun
from policy.models import PolicyVersion
from tests.claims.conftest import policy_document
from tests.fund.test_simulate_command import county_claims  # noqa: F401  the hand-valued county

pytestmark = pytest.mark.django_db


def _draft(name="上调封顶线", **changes) -> PolicyDraft:
    return PolicyDraft.objects.create(name=name, base_year=2026, document=policy_document(**changes))


@pytest.fixture
def officer(client, users_by_role, clock):
    clock("2027-02-01 10:00")  # scheme year 2026 is over (before logging in: the session lives on)
    client.force_login(users_by_role[Role.FUND_OFFICER])
    return client


def test_a_new_draft_starts_from_the_years_policy(officer, county_claims):  # noqa: F811
    page = officer.get(reverse("fund:simulation_new_file") + "?year=2026").content.decode()
    assert "annual_cap" in page and "2026年度方案草案" in page

    response = officer.post(reverse("fund:simulation_new_file"), {
        "name": "封顶 1.6 万", "base_year": "2026", "cost_growth": "5",
        "document": json.dumps(policy_document(annual_cap="16000.00"))})

    draft = PolicyDraft.objects.get()
    assert response.status_code == 302 and response.url == reverse("fund:simulation_draft", args=[draft.pk])
    assert draft.document["annual_cap"] == "16000.00" and draft.assumptions == {"cost_growth": "5"}
    assert draft.created_by.role == Role.FUND_OFFICER and draft.history.count() == 1


def test_a_draft_load_policy_would_refuse_is_refused_with_every_problem(officer):
    bad = policy_document(annual_cap="-1", risk_reserve_rate="2")
    response = officer.post(reverse("fund:simulation_new_file"), {"name": "坏草案", "base_year": "2026",
                                                                   "document": json.dumps(bad)})
    page = response.content.decode()
    assert response.status_code == 200 and 'id="policy-problems"' in page
    assert "annual_cap" in page and "risk_reserve_rate" in page
    assert not PolicyDraft.objects.exists()
    # an uploaded file goes through the same checks
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("draft.json", json.dumps(bad).encode(), content_type="application/json")
    response = officer.post(reverse("fund:simulation_new_file"),
                            {"name": "坏草案", "base_year": "2026", "upload": upload})
    assert 'id="policy-problems"' in response.content.decode() and not PolicyDraft.objects.exists()


def test_a_run_values_the_year_and_the_page_shows_current_beside_draft(
        officer, county_claims, django_capture_on_commit_callbacks):  # noqa: F811
    draft = _draft(annual_cap="16000.00")
    with django_capture_on_commit_callbacks() as sent:
        response = officer.post(reverse("fund:simulation_run", args=[draft.pk]))
    assert response.status_code == 302 and len(sent) == 1  # sent to the worker once committed
    run = SimulationRun.objects.get()
    assert run.status == SimulationRun.Status.QUEUED
    simulation_execute(run.pk)  # what the worker does (test_a_simulation_runs_in_the_worker)
    run.refresh_from_db()
    assert run.status == SimulationRun.Status.DONE and run.progress == 100
    result = run.result
    # the same figures as simulate_policy (tests/fund/test_simulate_command.py)
    assert (result["current"]["compensation"], result["draft"]["compensation"]) == ("18800.00", "19500.00")
    assert result["fund"]["available"] == "2968.20" and [w["kind"] for w in result["warnings"]] == ["overspending"]
    county = next(row for row in result["by_level"] if row["name"] == "county")
    assert county == {"name": "county", "claims": 2, "total_cost": "23000.00", "current": "15500.00",
                      "draft": "15690.00", "current_ratio": "0.6739", "draft_ratio": "0.6822"}
    # each member of the county lives in a township of their own (tests.factories)
    assert sorted((row["claims"], row["current"], row["draft"]) for row in result["by_township"]) == [
        (1, "2500.00", "3000.00"), (1, "500.00", "500.00"), (2, "15800.00", "16000.00")]
    # B's municipal claim gains most (2 500.00 → 3 000.00), then A's county claim (15 000.00 → 15 190.00)
    assert [row["change"] for row in result["top_changes"]] == ["500.00", "190.00", "10.00", "0.00"]
    # each explained step by step by claims.rules, the member's cap used by their earlier claims:
    # A's county claim had 16 000.00 − 810.00 left of the cap
    steps = result["top_changes"][1]["steps"]
    assert (steps["before_cap"], steps["cap_remaining"], steps["compensation"]) == ("15200.00", "15190.00", "15190.00")
    assert all(row["steps"]["compensation"] == row["draft"] for row in result["top_changes"])
    page = officer.get(reverse("fund:simulation_draft", args=[draft.pk])).content.decode()
    assert 'id="out-of-pocket-chart"' in page and "15,190.00" in page
    assert 'id="simulation-result"' in page and "19,500.00" in page and "18,800.00" in page
    assert reverse("claims:claim_detail", args=[result["top_changes"][0]["claim"]]) in page
    progress = officer.get(reverse("fund:simulation_progress", args=[run.pk])).json()
    assert progress == {"status": "done", "status_display": "已完成", "percent": 100, "finished": True,
                        "interrupted": False}


def test_a_running_simulation_is_joined_not_started_twice(officer, county_claims):  # noqa: F811
    draft = _draft()
    first, started = simulation_start(draft=draft)
    assert started
    officer.post(reverse("fund:simulation_run", args=[draft.pk]))
    second, started_again = simulation_start(draft=draft)
    assert (second.pk, started_again) == (first.pk, False)
    assert SimulationRun.objects.count() == 1
    page = officer.get(reverse("fund:simulation_draft", args=[draft.pk])).content.decode()
    assert 'id="simulation-progress"' in page


def test_a_cancelled_run_leaves_nothing_behind(officer, county_claims):  # noqa: F811
    draft = _draft()
    run, _ = simulation_start(draft=draft)
    response = officer.post(reverse("fund:simulation_cancel", args=[run.pk]))
    assert response.status_code == 302 and response.url == reverse("fund:simulation_draft", args=[draft.pk])
    assert not SimulationRun.objects.exists()
    simulation_execute(run.pk)  # the worker picks the task up afterwards: nothing is written
    assert not SimulationRun.objects.exists()
    # a run that has ended is not cancelled
    again, _ = simulation_start(draft=draft)
    simulation_execute(again.pk)
    officer.post(reverse("fund:simulation_cancel", args=[again.pk]))
    assert SimulationRun.objects.get().status == SimulationRun.Status.DONE


def test_a_year_without_claims_says_so(officer, county_claims):  # noqa: F811
    draft = PolicyDraft.objects.create(name="空年度", base_year=2030, document=policy_document())
    run, _ = simulation_start(draft=draft)
    simulation_execute(run.pk)
    run.refresh_from_db()
    assert run.status == SimulationRun.Status.FAILED and "2030 年度没有可测算的住院补偿" in run.message
    page = officer.get(reverse("fund:simulation_draft", args=[draft.pk])).content.decode()
    assert 'id="simulation-failed"' in page and "2030 年度没有可测算的住院补偿" in page


def test_two_drafts_compared_and_exported(officer, county_claims, tmp_path):  # noqa: F811
    first, second = _draft("甲", annual_cap="16000.00"), _draft("=乙")
    for draft in (first, second):
        run, _ = simulation_start(draft=draft)
        simulation_execute(run.pk)
    query = f"?a={first.pk}&b={second.pk}"
    page = officer.get(reverse("fund:simulation_compare") + query).content.decode()
    assert "19,500.00" in page and "19,510.00" in page
    response = officer.get(reverse("fund:simulation_compare_xlsx") + query)
    sheet = load_workbook(BytesIO(response.content)).active
    rows = {row[0]: row[1:] for row in sheet.iter_rows(values_only=True)}
    assert rows["项目"] == ("甲", "'=乙")  # text as text
    assert rows["草案补偿（元）"] == (Decimal("19500.00"), Decimal("19510.00"))
    assert sheet.cell(row=6, column=2).number_format == "#,##0.00"
    assert 'id="out-of-pocket-chart"' in page and "<svg" in page
    # each level's figures, and the warnings as text
    # A's 15,190.00 under the 16,000.00 cap (15,200.00 without it) and C's delivery, of 23,000.00
    assert rows["县级：草案补偿（元）"] == (Decimal("15690.00"), Decimal("15700.00"))
    assert [Decimal(str(v)) for v in rows["县级：草案实际补偿比"]] == [Decimal("0.6822"), Decimal("0.6826")]
    assert rows["省级：草案补偿（元）"] == (0, 0) and rows["省级：草案实际补偿比"] == (None, None)  # no stay
    assert rows["预警"][0] == "测算补偿 19,500.00 元超过当年可用基金 2,968.20 元（基金使用率 656.96%），方案将超支。"
    from django.utils import translation

    with translation.override("en"):  # the warnings in the reader's language, from the figures
        english = load_workbook(BytesIO(officer.get(reverse("fund:simulation_compare_xlsx") + query,
                                                    HTTP_ACCEPT_LANGUAGE="en").content)).active
    assert [row[1] for row in english.iter_rows(values_only=True) if row[0] == "Warnings"] == [
        "The draft would pay 19,500.00 yuan, more than the 2,968.20 yuan the year raises for compensation "
        "(fund usage 656.96%): the plan would overspend."]
    pdf = officer.get(reverse("fund:simulation_compare_pdf") + query)
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    path = tmp_path / "compare.pdf"
    path.write_bytes(pdf.content)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True, text=True).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M)  # the table, the warnings and the chart on one page
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True).stdout
    assert "县级：草案实际补偿比" in text and "68.22%" in text and "15,690.00" in text
    assert officer.get(reverse("fund:simulation_compare") + f"?a={first.pk}").status_code == 404


def test_adopting_a_draft_loads_a_new_revision_of_the_chosen_year(officer, county_claims):  # noqa: F811
    draft = _draft(annual_cap="16000.00")
    before = PolicyVersion.objects.get(year=2026)
    response = officer.post(reverse("fund:simulation_adopt", args=[draft.pk]), {"year": "2026"})
    assert response.status_code == 302
    version = PolicyVersion.objects.get(year=2026)
    assert version.revision == before.revision + 1 and version.document["annual_cap"] == "16000.00"
    assert version.history.count() >= 2  # the earlier revision kept
    officer.post(reverse("fund:simulation_adopt", args=[draft.pk]), {"year": "2031"})
    assert PolicyVersion.objects.get(year=2031).document["year"] == 2031


def test_a_refused_draft_is_not_adopted(officer, county_claims):  # noqa: F811
    draft = PolicyDraft.objects.create(name="坏", base_year=2026, document=policy_document(annual_cap="-1"))
    before = PolicyVersion.objects.get(year=2026).revision
    response = officer.post(reverse("fund:simulation_adopt", args=[draft.pk]), {"year": "2026"}, follow=True)
    assert "annual_cap" in response.content.decode()
    assert PolicyVersion.objects.get(year=2026).revision == before


def test_who_may_do_what(client, users_by_role):
    draft = _draft()
    auditor = users_by_role[Role.AUDITOR]
    client.force_login(auditor)
    page = client.get(reverse("fund:simulation_draft", args=[draft.pk]))
    assert page.status_code == 200 and 'id="adopt"' not in page.content.decode()
    assert client.get(reverse("fund:simulation_list")).status_code == 200
    assert client.get(reverse("fund:simulation_new")).status_code == 403
    assert client.post(reverse("fund:simulation_run", args=[draft.pk])).status_code == 403
    assert client.post(reverse("fund:simulation_adopt", args=[draft.pk]), {"year": "2026"}).status_code == 403
    run, _ = simulation_start(draft=draft)
    assert client.post(reverse("fund:simulation_cancel", args=[run.pk])).status_code == 403
    run.delete()
    client.force_login(users_by_role[Role.TOWNSHIP_CLERK])
    assert client.get(reverse("fund:simulation_list")).status_code == 403
    assert client.get(reverse("fund:simulation_draft", args=[draft.pk])).status_code == 403
    client.force_login(users_by_role[Role.ADMINISTRATOR])  # runs drafts, does not adopt them
    assert client.post(reverse("fund:simulation_adopt", args=[draft.pk]), {"year": "2026"}).status_code == 403
    client.force_login(users_by_role[Role.FUND_OFFICER])
    assert client.get(reverse("fund:simulation_draft", args=[draft.pk + 99])).status_code == 404
    client.logout()
    response = client.get(reverse("fund:simulation_list"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert not SimulationRun.objects.exists() and not PolicyVersion.objects.exists()


@pytest.mark.celery_worker
def test_a_simulation_runs_in_the_worker(celery_worker, client, users_by_role, county_claims, clock):  # noqa: F811
    """Through the real worker on PostgreSQL and Redis when REDIS_URL is set (eager otherwise): the
    run is sent on commit, its progress is polled, and the worker writes the result."""
    import time

    clock("2027-02-01 10:00")
    client.force_login(users_by_role[Role.FUND_OFFICER])
    draft = _draft(annual_cap="16000.00")
    assert client.post(reverse("fund:simulation_run", args=[draft.pk])).status_code == 302
    run = SimulationRun.objects.get()
    assert run.task_id
    deadline = time.time() + 60
    while time.time() < deadline:
        data = client.get(reverse("fund:simulation_progress", args=[run.pk])).json()
        assert 0 <= data["percent"] <= 100
        if data["finished"]:
            break
        time.sleep(0.2)
    else:
        pytest.fail("the simulation did not finish")
    run.refresh_from_db()
    assert run.status == SimulationRun.Status.DONE, run.message
    assert run.result["draft"]["compensation"] == "19500.00" and run.started_at <= run.finished_at


def test_the_out_of_pocket_share_is_what_the_claims_leave_to_patients():
    from fund.simulation_output import out_of_pocket, out_of_pocket_series

    rows = [{"name": "county", "current_ratio": "0.6739", "draft_ratio": "0.6822"},
            {"name": "provincial", "current_ratio": None, "draft_ratio": None}]
    assert out_of_pocket(rows, "draft") == {"county": Decimal("0.3178"), "provincial": None}
    series = out_of_pocket_series([("甲", {"by_level": rows})])
    assert [label for label, _shares in series] == ["现行方案", "甲"]
    assert series[0][1]["county"] == Decimal("0.3261")


def _totals_row(page: str, label: str) -> list[str]:
    row = re.search(rf"<tr><th>{label}</th>(.*?)</tr>", page)
    assert row, label
    return re.findall(r'<td class="num">(.*?)</td>', row.group(1))


def test_the_members_at_the_cap_of_the_current_policy_beside_the_drafts(officer, county_claims):  # noqa: F811
    # the year's loaded policy with a cap of 2 500.00: A's current 15 800.00 and B's 2 500.00 reach
    # it (B exactly), C's 500.00 does not; the draft's cap of 16 000.00 is reached by A alone
    version = PolicyVersion.objects.get(year=2026)
    version.document = {**version.document, "annual_cap": "2500.00"}
    version.save()
    draft = _draft(annual_cap="16000.00")
    run, _ = simulation_start(draft=draft)
    simulation_execute(run.pk)
    run.refresh_from_db()
    assert (run.result["current"]["members_at_cap"], run.result["draft"]["members_at_cap"]) == (2, 1)
    page = officer.get(reverse("fund:simulation_draft", args=[draft.pk])).content.decode()
    assert _totals_row(page, "封顶人数") == ["2", "1"]

    # a year without a loaded policy has no current cap: "—"
    other = PolicyDraft.objects.create(name="2025", base_year=2025, document=policy_document())
    run, _ = simulation_start(draft=other)
    simulation_execute(run.pk)
    run.refresh_from_db()
    assert run.status == SimulationRun.Status.DONE and run.result["current"]["members_at_cap"] is None
    page = officer.get(reverse("fund:simulation_draft", args=[other.pk])).content.decode()
    assert _totals_row(page, "封顶人数") == ["—", "0"]

    # compared, and exported
    query = f"?a={draft.pk}&b={other.pk}"
    page = officer.get(reverse("fund:simulation_compare") + query).content.decode()
    assert _totals_row(page, "现行封顶人数") == ["2", "—"] and _totals_row(page, "封顶人数") == ["1", "0"]
    sheet = load_workbook(BytesIO(officer.get(reverse("fund:simulation_compare_xlsx") + query).content)).active
    rows = {row[0]: row[1:] for row in sheet.iter_rows(values_only=True)}
    assert rows["现行封顶人数"] == (2, None)


def test_a_result_stored_before_the_current_members_at_cap_still_shows(officer, county_claims):  # noqa: F811
    draft = _draft(annual_cap="16000.00")
    run, _ = simulation_start(draft=draft)
    simulation_execute(run.pk)
    run.refresh_from_db()
    del run.result["current"]["members_at_cap"]
    run.save()
    page = officer.get(reverse("fund:simulation_draft", args=[draft.pk])).content.decode()
    assert 'id="simulation-result"' in page and _totals_row(page, "封顶人数") == ["—", "1"]
    page = officer.get(reverse("fund:simulation_compare") + f"?a={draft.pk}&b={draft.pk}").content.decode()
    assert _totals_row(page, "现行封顶人数") == ["—", "—"]


def test_townships_are_the_claims_own(county_claims):  # noqa: F811
    """A member who moved to another township after a stay: the stay stays with the township it was
    made in, as the fund report counts it."""
    from claims.models import Claim
    from places.models import Township

    moved = Claim.objects.filter(year=2026, total_cost=Decimal("5000.00")).get()  # B's municipal stay
    before = moved.township
    moved.member.household.village = Claim.objects.exclude(member=moved.member).first().member.household.village
    moved.member.household.save()
    assert moved.member.household.village.township != before
    run, _ = simulation_start(draft=_draft(annual_cap="16000.00"))
    simulation_execute(run.pk)
    rows = {row["name"]: row for row in SimulationRun.objects.get(pk=run.pk).result["by_township"]}
    assert rows[before.name]["claims"] == 1 and rows[before.name]["draft"] == "3000.00"
    assert sorted(rows) == sorted(Township.objects.filter(claims__year=2026).values_list("name", flat=True).distinct())


def test_a_run_whose_worker_died_is_seen_interrupted_and_runs_again(officer, county_claims, settings):  # noqa: F811
    """A worker killed mid-run leaves the run "running" without a heartbeat: the page and the
    progress say so and offer to run again; asking again ends it failed and starts a new run; a
    task delivered again (Celery acks late) values it from the start. A run whose worker beats is
    neither taken over nor restarted."""
    from core import jobs
    from fund.drafts import run_name

    draft = _draft(annual_cap="16000.00")
    run, _ = simulation_start(draft=draft)
    SimulationRun.objects.filter(pk=run.pk).update(status="running", progress=30)  # then the worker died
    progress = officer.get(reverse("fund:simulation_progress", args=[run.pk])).json()
    assert progress["status"] == "interrupted" and progress["interrupted"] and not progress["finished"]
    page = officer.get(reverse("fund:simulation_draft", args=[draft.pk])).content.decode()
    assert 'id="simulation-interrupted"' in page and 'id="simulation-progress"' not in page
    assert reverse("fund:simulation_run", args=[draft.pk]) in page

    # the task delivered again values it
    simulation_execute(run.pk)
    run.refresh_from_db()
    assert run.status == "done" and run.result["draft"]["compensation"] == "19500.00"

    # asking again while the worker died: the run ends failed and a new one starts
    second, started = simulation_start(draft=draft)
    SimulationRun.objects.filter(pk=second.pk).update(status="running")
    third, started = simulation_start(draft=draft)
    assert started and third.pk != second.pk and third.status == "queued"
    second.refresh_from_db()
    assert second.status == "failed" and "中断" in second.message

    # a worker that beats is on the run: joined, and a second delivery leaves it alone
    SimulationRun.objects.filter(pk=third.pk).update(status="running", progress=40)
    with jobs.heartbeat(run_name(third.pk)):
        joined, started = simulation_start(draft=draft)
        assert joined.pk == third.pk and not started
        simulation_execute(third.pk)
        assert officer.get(reverse("fund:simulation_progress", args=[third.pk])).json()["status"] == "running"
    third.refresh_from_db()
    assert third.status == "running" and third.result is None


def test_the_list_shows_what_each_draft_would_pay(officer, county_claims, django_assert_max_num_queries):  # noqa: F811
    valued, waiting = _draft("封顶 1.6 万", annual_cap="16000.00"), _draft("未测算")
    run, _ = simulation_start(draft=valued)
    simulation_execute(run.pk)
    for _ in range(3):  # more drafts cost no more queries
        _draft("又一个")
    with django_assert_max_num_queries(8):
        page = officer.get(reverse("fund:simulation_list")).content.decode()
    row = page[page.index(reverse("fund:simulation_draft", args=[valued.pk])):]
    row = row[:row.index("</tr>")]
    assert "已完成" in row and "19,500.00" in row and "656.96%" in row
    row = page[page.index(reverse("fund:simulation_draft", args=[waiting.pk])):]
    assert "尚未测算" in row[:row.index("</tr>")]


def test_each_kind_of_warning_is_said_from_the_figures():
    from fund.simulation_output import warning_message

    def result(draft, available, rate, month):
        return {"draft": {"compensation": draft, "fund_usage_rate": rate}, "fund": {"available": available,
                                                                                   "month": month}}

    over = {"kind": "overspending", "message": "…"}
    assert warning_message(over, result("100.00", "0.00", None, 12)) == "该年度没有参合筹资，测算补偿 100.00 元将全部超支。"
    assert warning_message(over, result("6000.00", "10000.00", "0.6000", 4)) == (
        "测算基金使用率 60.00% 超过 4 月进度 33.33% 的 110%（36.67%），基金有超支风险。")
    assert warning_message({"kind": "underuse", "message": "…"}, result("7000.00", "10000.00", "0.7000", 12)) == (
        "测算基金使用率 70.00% 低于 12 月进度 100.00% 的 85%（85.00%），基金结余过多。")
