"""A draft policy field by field (fund.draft_form.PolicyFieldsForm, /fund/simulation/new/ and
/fund/simulation/<id>/edit/): every field of the policy file in a form, ratios typed as
percentages, rows for bands and single diseases, and load_policy's checks with every problem put
beside the field it names; editing a saved draft keeps its history, and a result of an earlier
version says so."""
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import Role
from fund.draft_form import PolicyFieldsForm, percent_to_ratio, ratio_to_percent
from fund.drafts import simulation_execute, simulation_start
from fund.models import PolicyDraft, SimulationRun
from policy.rules import parse_policy
from policy.services import policy_load
from tests.claims.conftest import policy_document
from tests.fund.draft_posts import fields_post
from tests.fund.test_simulate_command import county_claims  # noqa: F401  the hand-valued county


def _form(document=None, **changes) -> PolicyFieldsForm:
    document = policy_document() if document is None else document
    return PolicyFieldsForm(fields_post(document, **changes), document=document)


# --- the form ---------------------------------------------------------------------------------


def test_percentages_convert_exactly():
    assert [ratio_to_percent(r) for r in ("0.75", "0.075", "0.5", "0", "0.0001", "1")] == [
        "75", "7.5", "50", "0", "0.01", "100"]
    assert [percent_to_ratio(p) for p in ("75", "7.5", "50", "0.01", "100", "abc")] == [
        "0.75", "0.075", "0.50", "0.0001", "1.00", "abc"]


def test_a_policy_left_as_it_opens_is_the_same_policy():
    form = _form()
    assert form.is_valid(), form.errors
    assert parse_policy(form.cleaned_data["parsed"]) == parse_policy(policy_document())
    assert form.cleaned_data["parsed"]["year"] == 2026  # what the form does not show is kept


def test_fields_open_with_the_policys_values_ratios_as_percentages():
    form = PolicyFieldsForm(document=policy_document(), initial={"name": "草案", "base_year": 2026})
    assert form["annual_cap"].value() == "200000.00"
    assert form["levels__county__bands_1__up_to"].value() == "10000.00"
    assert form["levels__county__bands_1__ratio"].value() == "75"
    assert form["levels__county__bands_2__up_to"].value() == ""  # the last band: no upper end
    assert form["levels__county__bands_3__ratio"].value() is None  # one more row, empty
    assert form["groups__wubao__waive_deductible"].value() is True
    assert form["unreferred_reduction__levels"].value() == ["municipal", "provincial"]
    assert form["single_disease_1__code"].value() == "K35"
    page = form.as_p()
    assert 'name="levels__provincial__deductible"' in page and 'name="coverage__waiting_days"' in page


def test_changed_fields_make_the_draft_document():
    form = _form(**{"annual_cap": "160000.00", "levels__county__bands_1__ratio": "80",
                    "levels__township__bands_2__up_to": "", "levels__township__bands_2__ratio": "",
                    # a third band for the county, typed in the empty row
                    "levels__county__bands_2__up_to": "30000.00", "levels__county__bands_3__ratio": "85",
                    "groups__dibao__ratio_points": "", "groups__dibao__waive_deductible": None,
                    "groups__poor__ratio_points": "",  # waived, no extra points: 0
                    "single_disease_2__code": "o80", "single_disease_2__name": "顺产",
                    "single_disease_2__level": "township", "single_disease_2__payment": "600.00",
                    "coverage__collection_end": "2026-01-31", "coverage__waiting_days": "30"})
    assert form.is_valid(), form.errors
    document = form.cleaned_data["parsed"]
    assert document["annual_cap"] == "160000.00"
    assert document["levels"]["county"]["bands"] == [{"up_to": "10000.00", "ratio": "0.80"},
                                                     {"up_to": "30000.00", "ratio": "0.80"},
                                                     {"up_to": None, "ratio": "0.85"}]
    assert "dibao" not in document["groups"] and document["groups"]["poor"] == {
        "waive_deductible": True, "ratio_points": "0"}
    assert document["single_disease"][1] == {"code": "o80", "name": "顺产", "level": "township",
                                             "payment": "600.00"}
    assert document["coverage"] == {"collection_end": "2026-01-31", "waiting_days": 30}
    policy = parse_policy(document)
    assert policy.levels["county"].bands[2].ratio == Decimal("0.85") and policy.single_disease[1].code == "O80"


def test_blank_optional_parts_are_left_out():
    form = _form(**{"unreferred_reduction__levels": [], "unreferred_reduction__ratio_points": "",
                    **{f"groups__{g}__{k}": None for g in ("wubao", "dibao", "poor")
                       for k in ("waive_deductible", "ratio_points")},
                    "single_disease_1__code": "", "single_disease_1__name": "", "single_disease_1__level": "",
                    "single_disease_1__payment": ""})
    assert form.is_valid(), form.errors
    document = form.cleaned_data["parsed"]
    assert not {"unreferred_reduction", "groups", "single_disease", "coverage"} & set(document)


def test_every_problem_is_put_beside_its_field_at_once():
    form = _form(**{"annual_cap": "-1", "levels__county__deductible": "1.234",
                    "levels__county__bands_1__ratio": "120", "levels__township__bands_1__ratio": "33.333",
                    "risk_reserve_rate": "三", "claim_deadline_days": "ninety",
                    "contribution__individual": "",
                    "single_disease_2__code": "K35", "single_disease_2__level": "county",
                    "single_disease_2__payment": "100.00",
                    "coverage__waiting_days": "30"})
    assert not form.is_valid()
    errors = {name: list(messages) for name, messages in form.errors.items()}
    assert errors["annual_cap"] == ["金额不能为负数"]
    assert errors["levels__county__deductible"] == ["金额最多两位小数"]
    assert errors["levels__county__bands_1__ratio"] == ["应在 0 到 100 之间"]
    assert errors["levels__township__bands_1__ratio"] == ["百分比最多两位小数"]
    assert errors["risk_reserve_rate"] == ["不是有效的数字"]
    assert errors["claim_deadline_days"] == ["应为整数"]
    assert errors["contribution__individual"] == ["缺少此项"]
    assert errors["single_disease_2__code"] == ["与前面的病种重复（同一级别 county）"]
    assert errors["coverage__collection_end"] == ["缺少此项"]
    assert "__all__" not in errors


def test_a_problem_names_the_row_typed_not_its_place_among_the_rows_kept():
    # the county's second row left blank, its third typed: the third is the file's second band
    form = _form(**{"levels__county__bands_1__up_to": "10000.00", "levels__county__bands_2__up_to": "",
                    "levels__county__bands_2__ratio": "", "levels__county__bands_3__up_to": "5000.00",
                    "levels__county__bands_3__ratio": "80"})
    assert not form.is_valid()
    assert "levels__county__bands_3__up_to" in form.errors and "levels__county__bands_2__up_to" not in form.errors
    # a band without an upper end before the last one
    form = _form(**{"levels__county__bands_1__up_to": ""})
    assert list(form.errors) == ["levels__county__bands_1__up_to"]
    # a level with no band at all: said of its first row
    form = _form(**{"levels__municipal__bands_1__ratio": ""})
    assert dict(form.errors) == {"levels__municipal__bands_1__ratio": ["至少填写一段"]}


def test_rows_posted_beyond_those_shown_are_read():
    data = fields_post(policy_document(), **{"single_disease_9__code": "I21", "single_disease_9__name": "心梗",
                                             "single_disease_9__level": "municipal",
                                             "single_disease_9__payment": "9000.00"})
    form = PolicyFieldsForm(data, document=policy_document())
    assert form.is_valid(), form.errors
    assert [d["code"] for d in form.cleaned_data["parsed"]["single_disease"]] == ["K35", "I21"]


# --- the pages --------------------------------------------------------------------------------


@pytest.fixture
def officer(client, users_by_role, clock):
    clock("2027-02-01 10:00")
    client.force_login(users_by_role[Role.FUND_OFFICER])
    return client


@pytest.mark.django_db
def test_a_new_draft_field_by_field(officer):
    policy_load(data=policy_document())
    page = officer.get(reverse("fund:simulation_new") + "?year=2026").content.decode()
    assert 'value="200000.00"' in page and "2026年度方案草案" in page and 'id="level-county"' in page

    data = fields_post(policy_document(), name="比例上调", **{"levels__county__bands_1__ratio": "80",
                                                             "cost_growth": "3.5"})
    response = officer.post(reverse("fund:simulation_new") + "?year=2026", data)
    draft = PolicyDraft.objects.get()
    assert response.status_code == 302 and response.url == reverse("fund:simulation_draft", args=[draft.pk])
    assert draft.document["levels"]["county"]["bands"][0]["ratio"] == "0.80"
    assert draft.assumptions == {"cost_growth": "3.5"} and draft.created_by.role == Role.FUND_OFFICER


@pytest.mark.django_db
def test_a_refused_draft_is_shown_again_with_its_problems_and_nothing_saved(officer):
    policy_load(data=policy_document())
    data = fields_post(policy_document(), **{"annual_cap": "-1", "levels__county__bands_1__ratio": "120"})
    response = officer.post(reverse("fund:simulation_new") + "?year=2026", data)
    page = response.content.decode()
    assert response.status_code == 200 and 'id="policy-problems"' in page
    assert "金额不能为负数" in page and "应在 0 到 100 之间" in page and 'value="120"' in page
    assert not PolicyDraft.objects.exists()


@pytest.mark.django_db
def test_editing_a_saved_draft_keeps_its_history_and_marks_earlier_results(
        officer, county_claims, django_capture_on_commit_callbacks):  # noqa: F811
    draft = PolicyDraft.objects.create(name="封顶", base_year=2026, document=policy_document(annual_cap="16000.00"))
    run, _ = simulation_start(draft=draft)
    simulation_execute(run.pk)
    page = officer.get(reverse("fund:simulation_edit", args=[draft.pk])).content.decode()
    assert 'value="16000.00"' in page and 'value="封顶"' in page

    data = fields_post(draft.document, name="封顶 1.8 万", annual_cap="18000.00")
    response = officer.post(reverse("fund:simulation_edit", args=[draft.pk]), data)
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.name == "封顶 1.8 万" and draft.document["annual_cap"] == "18000.00"
    assert [h.document["annual_cap"] for h in draft.history.order_by("history_id")] == ["16000.00", "18000.00"]
    assert draft.history.first().history_user.role == Role.FUND_OFFICER

    page = officer.get(reverse("fund:simulation_draft", args=[draft.pk])).content.decode()
    assert 'id="simulation-stale"' in page  # the result shown is of the earlier version
    with django_capture_on_commit_callbacks():
        officer.post(reverse("fund:simulation_run", args=[draft.pk]))
    simulation_execute(SimulationRun.objects.filter(status="queued").get().pk)
    page = officer.get(reverse("fund:simulation_draft", args=[draft.pk])).content.decode()
    assert 'id="simulation-stale"' not in page

    # a refused change writes nothing
    response = officer.post(reverse("fund:simulation_edit", args=[draft.pk]),
                            fields_post(draft.document, name="坏", annual_cap="abc"))
    assert response.status_code == 200 and "不是有效的数字" in response.content.decode()
    draft.refresh_from_db()
    assert draft.name == "封顶 1.8 万" and draft.history.count() == 2


@pytest.mark.django_db
def test_a_run_values_the_draft_as_it_was_asked_for(county_claims):  # noqa: F811
    """A draft edited while its run waits for the worker: the run values what it was asked for."""
    draft = PolicyDraft.objects.create(name="封顶", base_year=2026, document=policy_document(annual_cap="16000.00"))
    run, _ = simulation_start(draft=draft)
    draft.document = policy_document()
    draft.save()
    simulation_execute(run.pk)
    run.refresh_from_db()
    assert run.result["draft"]["compensation"] == "19500.00"  # under the 16,000.00 cap
    assert run.document["annual_cap"] == "16000.00" and not run.of_draft_as_it_is()


@pytest.mark.django_db
def test_who_may_draft_and_edit(client, users_by_role):
    draft = PolicyDraft.objects.create(name="草案", base_year=2026, document=policy_document())
    for role in (Role.AUDITOR, Role.TOWNSHIP_CLERK, Role.FACILITY_CLERK):
        client.force_login(users_by_role[role])
        for url in (reverse("fund:simulation_new"), reverse("fund:simulation_new_file"),
                    reverse("fund:simulation_edit", args=[draft.pk])):
            assert client.get(url).status_code == 403, (role, url)
        assert client.post(reverse("fund:simulation_edit", args=[draft.pk]),
                           fields_post(draft.document, name="改")).status_code == 403
    client.force_login(users_by_role[Role.FUND_OFFICER])
    assert client.get(reverse("fund:simulation_edit", args=[draft.pk + 99])).status_code == 404
    client.logout()
    response = client.get(reverse("fund:simulation_edit", args=[draft.pk]))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    draft.refresh_from_db()
    assert draft.name == "草案" and draft.history.count() == 1


# --- what a draft changes ---------------------------------------------------------------------


def test_a_drafts_changes_are_listed_as_the_form_shows_them():
    from fund.draft_form import policy_changes

    current = policy_document()
    assert policy_changes(current, policy_document(annual_cap="200000")) == []  # the same amount
    draft = policy_document(annual_cap="160000.00", coverage={"collection_end": "2026-01-31", "waiting_days": 30})
    draft["levels"]["county"]["bands"][0]["ratio"] = "0.8"
    draft["groups"].pop("dibao")
    assert policy_changes(current, draft) == [
        {"field": "年度封顶线（元）", "before": "200000.00", "after": "160000.00"},
        {"field": "县级 · 第1段 · 补偿比例（%）", "before": "75", "after": "80"},
        {"field": "低保户 · 比例提高（百分点）", "before": "5", "after": "—"},
        {"field": "待遇等待期 · 集中缴费截止日", "before": "—", "after": "2026-01-31"},
        {"field": "待遇等待期 · 等待期（天）", "before": "—", "after": "30"}]


@pytest.mark.django_db
def test_the_draft_and_compare_pages_say_what_each_draft_changes(officer, county_claims):  # noqa: F811
    from io import BytesIO

    from openpyxl import load_workbook

    first = PolicyDraft.objects.create(name="甲", base_year=2026, document=policy_document(annual_cap="16000.00"))
    second = PolicyDraft.objects.create(name="乙", base_year=2026, document=policy_document())
    page = officer.get(reverse("fund:simulation_draft", args=[first.pk])).content.decode()
    section = page[page.index('id="policy-changes"'):]
    assert "与2026年度现行方案（第1版）相比" in section and "年度封顶线（元）" in section and "16000.00" in section
    assert "与现行方案相同，没有改动。" in officer.get(reverse("fund:simulation_draft", args=[second.pk])).content.decode()
    query = f"?a={first.pk}&b={second.pk}"
    sheet = load_workbook(BytesIO(officer.get(reverse("fund:simulation_compare_xlsx") + query).content)).active
    rows = {row[0]: row[1:] for row in sheet.iter_rows(values_only=True)}
    assert rows["与现行方案相比的改动"] == ("年度封顶线（元）：200000.00 → 16000.00", "与现行方案相同，没有改动。")
    assert "年度封顶线（元）：200000.00 → 16000.00" in officer.get(reverse("fund:simulation_compare") + query
                                                             ).content.decode()


@pytest.mark.django_db
def test_without_any_policy_the_form_starts_empty_and_says_what_is_missing(officer):
    page = officer.get(reverse("fund:simulation_new")).content.decode()
    assert 'name="annual_cap"' in page and 'id="level-provincial"' in page
    response = officer.post(reverse("fund:simulation_new"), {"name": "空白", "base_year": "2026"})
    form = response.context["form"]
    assert response.status_code == 200 and not PolicyDraft.objects.exists()
    assert form.errors["annual_cap"] == ["缺少此项"] and form.errors["levels__county__bands_1__ratio"] == ["至少填写一段"]
    assert form.errors["contribution__subsidy__central"] == ["缺少此项"]
    assert "__all__" not in form.errors  # the file's year is the year tried on
