"""The public policy page (/public/policy/): every rule in plain words, the one-page leaflet, and
the calculator, which values a bill with the claims' own valuation, refuses what no claim may
state, reads nobody's data, writes nothing and is throttled per address."""
import re
import subprocess
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from claims import rules as claim_rules
from claims.models import Claim
from policy.models import PolicyVersion
from policy.services import policy_load
from publicity import policy_words
from tests.claims.conftest import policy_document

URL = reverse("publicity:policy_page")
LEAFLET = reverse("publicity:policy_leaflet")


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def policy(db):
    return policy_load(data=policy_document())


def text_of(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", response.content.decode()))


def calculate(client, address="10.9.0.1", **values):
    headers = {name: values.pop(name) for name in list(values) if name.startswith("HTTP_")}
    data = {"year": "2026", "level": "county", "total": "1100.00", "self_paid": "100.00", **values}
    return client.get(URL, data, REMOTE_ADDR=address, **headers)


# --- the rules in words ---------------------------------------------------------------------


def test_anyone_reads_every_rule_without_login(client, policy):
    response = client.get(URL)
    assert response.status_code == 200
    page = text_of(response)
    # contribution, deductibles and ratios by level and band
    assert "每人每年个人缴费 380.00 元" in page
    assert "乡镇卫生院" in page and "100.00 元" in page and "报销 90%" in page
    assert "县级医院" in page and "400.00 元" in page
    assert "10,000.00 元以内的部分报 75%" in page and "10,000.00 元以上的部分报 80%" in page
    assert "县外市级医院" in page and "1,000.00 元" in page and "报销 60%" in page
    assert "省级医院" in page and "2,000.00 元" in page and "报销 50%" in page
    # the referral rule, the groups, the cap, delivery and single disease, the deadline
    assert "到县外市级医院、省级医院住院，要先办理转诊手续；没有转诊的，报销比例少 10 个百分点" in page
    assert "五保人员：不扣起付线，报销比例多 10 个百分点" in page
    assert "低保人员：照常扣起付线，报销比例多 5 个百分点" in page
    assert "贫困人员：不扣起付线，报销比例多 5 个百分点" in page
    assert "最多 200,000.00 元" in page
    assert "顺产 500.00 元" in page and "剖宫产 1,200.00 元" in page
    assert "急性阑尾炎（在县级医院住院）2,400.00 元" in page
    assert "出院后 90 天内" in page
    # without `coverage`: the whole year
    assert "全年住院都能报销（本年度不设缴费截止日和等待期）" in page


def test_the_coverage_rule_and_the_collection_period(client, db):
    policy_load(data=policy_document(coverage={"collection_end": "2025-12-31", "waiting_days": 90}))
    page = text_of(client.get(URL))
    assert "缴费截止日：2025年12月31日" in page
    assert "要等 90 天" in page and "满 90 天以后入院的住院才能报销" in page
    assert "新生儿出生后" in page

    policy_load(data=policy_document(coverage={"collection_end": "2025-12-31", "waiting_days": 0}))
    page = text_of(client.get(URL))  # loading a policy again makes the cached page stale
    assert "从缴费那天起入院的住院才能报销" in page and "要等" not in page


def test_a_policy_without_groups_or_referral_rule_says_so(client, db):
    policy_load(data=policy_document(groups={}, unreferred_reduction={"levels": [], "ratio_points": "0.00"}))
    response = client.get(URL)
    page = text_of(response)
    assert "本年度不论是否转诊，报销比例都一样" in page
    assert "五保、低保等人员" not in page
    assert 'name="group"' not in response.content.decode()  # no group to choose in the calculator


def test_the_latest_year_by_default_and_another_by_year(client, db):
    policy_load(data=policy_document())
    policy_load(data=policy_document(year=2027, name="2027 plan", annual_cap="250000.00"))
    assert "2027年新农合住院报销政策" in text_of(client.get(URL))
    assert "最多 250,000.00 元" in text_of(client.get(URL))
    older = text_of(client.get(URL, {"year": "2026"}))
    assert "2026年新农合住院报销政策" in older and "最多 200,000.00 元" in older
    missing = client.get(URL, {"year": "2019"})
    assert missing.status_code == 404 and "2019年度的报销政策还没有公布" in text_of(missing)
    assert client.get(URL, {"year": "abc"}).status_code == 200  # not a year: the latest


def test_nothing_loaded(client, db):
    response = client.get(URL)
    assert response.status_code == 404 and "报销政策还没有公布" in text_of(response)
    assert client.get(LEAFLET).status_code == 404


def test_the_page_is_in_the_public_navigation_and_index(client, policy):
    assert f'href="{URL}"' in client.get(reverse("publicity:index")).content.decode()
    assert f'href="{URL}"' in client.get(reverse("publicity:fund_summary")).content.decode()


def test_english_on_request(client, policy):
    page = text_of(client.get(URL, HTTP_ACCEPT_LANGUAGE="en"))
    assert "2026 NCMS inpatient reimbursement policy" in page and "Reimbursement calculator" in page
    assert "75% of the part up to 10,000.00 yuan" in page and "Each person pays 380.00 yuan a year" in page
    calculated = text_of(calculate(client, HTTP_ACCEPT_LANGUAGE="en", level="county", total="1100.00",
                                   self_paid="100.00"))
    assert "Reimbursed: 450.00" in calculated


# --- the leaflet ----------------------------------------------------------------------------


def pdf_info(content: bytes, tmp_path) -> tuple[str, str]:
    path = tmp_path / "leaflet.pdf"
    path.write_bytes(content)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True, text=True).stdout
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True,
                          text=True).stdout
    return info, re.sub(r"\s+", " ", text)


# a long policy: the cover rule and eight single diseases
LONG = {"coverage": {"collection_end": "2025-12-31", "waiting_days": 90},
        "single_disease": [{"code": "K35", "level": "county", "name": "acute appendicitis", "payment": "2400.00"}]
        + [{"code": f"O{80 + n}", "level": "county", "name": f"condition number {n} of the county list",
            "payment": f"{1000 + n * 100}.00"} for n in range(7)]}


@pytest.mark.parametrize("changes", [{}, LONG])
def test_the_leaflet_is_one_a4_page_with_the_key_figures(client, db, tmp_path, changes):
    coverage = changes.get("coverage")
    policy_load(data=policy_document(**changes))
    response = client.get(LEAFLET, {"year": "2026"})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    info, text = pdf_info(response.content, tmp_path)
    assert re.search(r"^Pages:\s+1$", info, re.M), info
    assert re.search(r"^Page size:\s+595\.\d+ x 841\.\d+ pts \(A4\)", info, re.M), info
    for figure in ("380.00", "100.00", "400.00", "1,000.00", "2,000.00", "90%", "75%", "80%", "60%", "50%",
                   "200,000.00", "500.00", "1,200.00", "2,400.00", "10 个百分点", "90 天内"):
        assert figure.replace(" ", "") in text.replace(" ", ""), figure  # a line may wrap anywhere
    assert "住院报销政策" in text
    if coverage:
        assert "2025年12月31日" in text.replace(" ", "")


def test_the_page_links_the_leaflet(client, policy):
    html = client.get(URL).content.decode()
    assert f'href="{LEAFLET}?year=2026"' in html


# --- the calculator -------------------------------------------------------------------------


def test_the_calculator_values_as_a_claim_is_valued(client, policy):
    response = calculate(client, level="county", total="12500.00", self_paid="500.00")
    assert response.status_code == 200
    page = text_of(response)
    # R = 12000; county: D 400, 75% of 400–10000 = 7200, 80% of 10000–12000 = 1600
    assert "能报销 8,800.00 元" in page and "自己付 3,700.00 元" in page
    assert "可报销费用 12,000.00 = 总费用 12,500.00 − 目录外费用 500.00" in page
    assert "起付线 400.00（县级医院）" in page
    assert "400.00–10,000.00 部分：(10,000.00 − 400.00) × 75% = 7,200.00" in page
    assert "10,000.00–12,000.00 部分：(12,000.00 − 10,000.00) × 80% = 1,600.00" in page
    version = PolicyVersion.objects.get(year=2026)
    valued = claim_rules.value_claim(policy=version.policy(), level="county", category="ordinary",
                                     total_cost=Decimal("12500.00"), non_reimbursable_cost=Decimal("500.00"),
                                     referred=False, diagnosis=None, delivery=None, used_this_year=Decimal("0"))
    assert valued.compensation == Decimal("8800.00")


def test_the_calculator_applies_the_referral_rule(client, policy):
    # municipal: D 1000, 60%; not referred: 50%
    unreferred = text_of(calculate(client, level="municipal", total="5000.00", self_paid="0"))
    assert "能报销 2,000.00 元" in unreferred and "未办理转诊，各段比例降低 10 个百分点" in unreferred
    referred = text_of(calculate(client, level="municipal", total="5000.00", self_paid="0", referred="on"))
    assert "能报销 2,400.00 元" in referred and "未办理转诊" not in referred


def test_the_calculator_applies_the_group_rules(client, policy):
    # township: R 1000, D 100, 90%: 810; 五保 waives D and adds 10 points (kept at 100%)
    assert "能报销 810.00 元" in text_of(calculate(client, level="township", total="1100.00", self_paid="100.00"))
    wubao = text_of(calculate(client, level="township", total="1100.00", self_paid="100.00", group="wubao"))
    assert "能报销 1,000.00 元" in wubao and "五保人员免起付线" in wubao
    # 低保: D kept, 5 points more: 95% of 900
    dibao = text_of(calculate(client, level="township", total="1100.00", self_paid="100.00", group="dibao"))
    assert "能报销 855.00 元" in dibao and "低保人员各段比例提高 5 个百分点" in dibao


def test_the_calculator_applies_the_cap(client, db):
    policy_load(data=policy_document(annual_cap="1000.00"))
    page = text_of(calculate(client, level="county", total="5400.00", self_paid="0"))
    # before the cap: 75% of 5000 = 3750
    assert "能报销 1,000.00 元" in page and "已达年度封顶线" in page


def test_below_the_deductible_pays_nothing(client, policy):
    page = text_of(calculate(client, level="county", total="300.00", self_paid="0"))
    assert "能报销 0.00 元" in page and "可报销费用未超过起付线，不予补偿" in page


def test_self_paid_may_be_left_empty(client, policy):
    assert "能报销 810.00 元" in text_of(calculate(client, level="township", total="1000.00", self_paid=""))


@pytest.mark.parametrize(("values", "message"), [
    ({"total": "-100.00"}, "金额不能为负数"),
    ({"self_paid": "-1.00"}, "金额不能为负数"),
    ({"total": "1000.00", "self_paid": "1000.01"}, "目录外（自费）费用 1000.01 超过了住院总费用 1000.00"),
    ({"total": "5000000.01"}, "超过单次住院总费用的上限 5000000.00 元"),
    ({"total": "12.345"}, "金额最多两位小数"),
    ({"total": "一千"}, "请输入金额"),
    ({"level": "hospital"}, "选择一个有效的选项"),
])
def test_the_calculator_refuses_bad_amounts_and_writes_nothing(client, policy, values, message):
    claims_before, policies_before = Claim.objects.count(), PolicyVersion.history.count()
    response = calculate(client, **values)
    assert response.status_code == 200
    page = text_of(response)
    assert message in page
    assert 'id="calc-result"' not in response.content.decode()
    assert Claim.objects.count() == claims_before and PolicyVersion.history.count() == policies_before


def test_the_ceiling_is_the_setting(client, policy, settings):
    settings.CLAIM_TOTAL_COST_MAX = Decimal("1000.00")
    page = text_of(calculate(client, total="1000.01", self_paid="0"))
    assert "超过单次住院总费用的上限 1000.00 元" in page


def test_the_calculator_reads_only_the_policy_and_writes_nothing(client, policy):
    calculate(client)  # warm: sessions, translations
    with CaptureQueriesContext(connection) as queries:
        response = calculate(client, address="10.9.0.2")
    assert response.status_code == 200
    tables = {table for query in queries.captured_queries
              for table in re.findall(r'FROM "?(\w+)"?', query["sql"])}
    assert tables <= {"claims_policyversion"}, tables
    assert not [q for q in queries.captured_queries if re.match(r"\s*(INSERT|UPDATE|DELETE)", q["sql"], re.I)]


def test_the_calculator_is_throttled_per_address(client, policy):
    codes = [calculate(client, address="10.9.1.1").status_code for _ in range(31)]
    assert codes == [200] * 30 + [429]
    assert calculate(client, address="10.9.1.2").status_code == 200
    assert client.get(URL, REMOTE_ADDR="10.9.1.1").status_code == 200  # reading the policy is not counted


def test_a_calculation_is_never_cached(client, policy):
    first = calculate(client, total="2000.00")
    second = calculate(client, total="2000.00")
    assert "X-Public-Cache" not in first and "X-Public-Cache" not in second
    client.get(URL)
    assert client.get(URL)["X-Public-Cache"] == "hit"


def test_the_quote_is_the_claims_valuation(policy):
    policy_obj = PolicyVersion.objects.get(year=2026).policy()
    quote = policy_words.quote(policy=policy_obj, level="provincial", total_cost=Decimal("10000.00"),
                               self_paid=Decimal("0.00"), referred=True, group="poor")
    # provincial: D waived for 贫困, 50% + 5 points of 10000
    assert quote.compensation == Decimal("5500.00") and quote.patient_pays == Decimal("4500.00")
    assert [line.label for line in quote.lines][:3] == ["住院总费用", "目录外费用", "可报销费用"]
