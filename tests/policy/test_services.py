"""Loading a scheme year's policy: policy.services.policy_load, `load_policy`, the admin page."""
import copy
import json
import subprocess
import sys
from datetime import date
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import Role
from policy.models import PolicyVersion
from policy.rules import Coverage, PolicyInvalid, parse_policy
from policy.services import policy_load

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "policy" / "fixtures" / "policy-2026.json"
DOCUMENT = json.loads(FIXTURE.read_text(encoding="utf-8"))

pytestmark = pytest.mark.django_db


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("load_policy", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def write(tmp_path, document, name="policy.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return str(path)


def test_loading_the_sample_file_stores_the_document_and_parses_it():
    out, err = run(str(FIXTURE))
    assert out.strip() == "已载入 2026 年度补偿方案「2026 inpatient compensation plan」（第1版）"
    assert err == ""
    version = PolicyVersion.objects.get()
    assert (version.year, version.name, version.revision) == (2026, "2026 inpatient compensation plan", 1)
    assert version.document == DOCUMENT
    assert version.loaded_by is None
    policy = version.policy()
    assert policy.annual_cap == Decimal("200000.00")
    assert policy.levels["county"].deductible == Decimal("400.00")
    assert version.policy() is policy  # parsed once
    assert PolicyVersion.objects.get().policy() == policy
    history = version.history.get()
    assert (history.history_type, history.history_change_reason) == ("+", "载入")


def test_replacing_a_year_keeps_one_row_and_the_history(make_user):
    first = policy_load(data=DOCUMENT)
    officer = make_user(Role.FUND_OFFICER, username="officer")
    changed = copy.deepcopy(DOCUMENT)
    changed["name"] = "2026 revised plan"
    changed["annual_cap"] = "250000.00"
    second = policy_load(data=changed, user=officer)
    assert second.pk == first.pk
    assert PolicyVersion.objects.count() == 1
    version = PolicyVersion.objects.get()
    assert (version.name, version.revision, version.loaded_by) == ("2026 revised plan", 2, officer)
    assert version.policy().annual_cap == Decimal("250000.00")
    history = list(version.history.order_by("history_id"))
    assert [(row.revision, row.document["annual_cap"], row.history_change_reason) for row in history] == [
        (1, "200000.00", "载入"), (2, "250000.00", "替换（第2版）")]
    assert history[1].history_user == officer


def test_loading_the_same_document_again_changes_nothing():
    first = policy_load(data=DOCUMENT)
    again = policy_load(data=copy.deepcopy(DOCUMENT))
    assert again.pk == first.pk
    assert PolicyVersion.objects.get().revision == 1
    assert first.history.count() == 1


def test_other_years_are_kept_apart():
    policy_load(data=DOCUMENT)
    policy_load(data={**copy.deepcopy(DOCUMENT), "year": 2027, "name": "2027 plan"})
    assert list(PolicyVersion.objects.values_list("year", "name")) == [
        (2027, "2027 plan"), (2026, "2026 inpatient compensation plan")]


def test_invalid_document_writes_nothing_and_keeps_the_loaded_policy():
    policy_load(data=DOCUMENT)
    bad = copy.deepcopy(DOCUMENT)
    bad["annual_cap"] = "-5.00"
    bad["levels"]["county"]["bands"][1]["ratio"] = "1.20"
    with pytest.raises(PolicyInvalid) as refusal:
        policy_load(data=bad)
    assert refusal.value.errors == ["annual_cap「-5.00」：金额不能为负数",
                                    "levels.county.bands[2].ratio「1.20」：比例须在 0 到 1 之间"]
    version = PolicyVersion.objects.get()
    assert version.revision == 1 and version.document == DOCUMENT
    assert version.history.count() == 1


def test_amounts_out_of_all_proportion_are_refused_not_a_crash():
    """A mistyped exponent or a run of nines is refused by name, before any arithmetic (1e400
    cannot even be rounded to the fen); -0 is 0.00."""
    bad = copy.deepcopy(DOCUMENT)
    bad["annual_cap"] = "1e400"
    bad["levels"]["county"]["deductible"] = "99999999999999999999999999.99"
    bad["delivery"]["normal"] = "-0"
    with pytest.raises(PolicyInvalid) as refusal:
        policy_load(data=bad)
    assert refusal.value.errors == [
        "annual_cap「1e400」：金额过大（最多 99999999.99）",
        "levels.county.deductible「99999999999999999999999999.99」：金额过大（最多 99999999.99）"]
    bad["annual_cap"], bad["levels"]["county"]["deductible"] = "99999999.99", "400.00"
    assert str(parse_policy(bad).delivery["normal"]) == "0.00"


def test_command_refuses_an_invalid_file_whole_listing_every_error(tmp_path):
    bad = copy.deepcopy(DOCUMENT)
    bad["year"] = "2026"
    bad["delivery"]["normal"] = 500.5
    err = StringIO()
    with pytest.raises(CommandError, match="政策文件有误，未载入（共2处错误）"):
        call_command("load_policy", write(tmp_path, bad), stdout=StringIO(), stderr=err)
    assert err.getvalue().splitlines() == [
        "year「2026」：应为整数",
        'delivery.normal「500.5」：请写成带引号的十进制字符串，如 "0.75" 或 "100.00"',
    ]
    assert not PolicyVersion.objects.exists()
    assert not PolicyVersion.history.exists()


def test_command_refuses_broken_json_with_line_and_column(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"year": 2026,\n  "name": }', encoding="utf-8")
    with pytest.raises(CommandError, match="不是有效的 JSON：第2行第11列"):
        run(str(path))
    assert not PolicyVersion.objects.exists()


def test_command_refuses_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="找不到文件"):
        run(str(tmp_path / "nope.json"))


def test_command_accepts_a_utf8_bom(tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + FIXTURE.read_bytes())
    run(str(path))
    assert PolicyVersion.objects.get().year == 2026


def test_command_exits_non_zero_with_errors_on_stderr(tmp_path):
    """Through manage.py as county scripts run it (a separate process; a refused file is
    validated before any database work, so the process needs no test database)."""
    bad = copy.deepcopy(DOCUMENT)
    del bad["levels"]
    result = subprocess.run(
        [sys.executable, "manage.py", "load_policy", write(tmp_path, bad)], cwd=ROOT,
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode != 0
    assert "levels：缺少此项" in result.stderr
    assert "政策文件有误，未载入（共1处错误）" in result.stderr
    assert result.stdout == ""


def test_admin_shows_the_document_read_only(client, django_user_model):
    version = policy_load(data=DOCUMENT)
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw-12345-root")
    client.force_login(admin)
    listing = client.get("/admin/policy/policyversion/")
    assert listing.status_code == 200
    assert "2026 inpatient compensation plan" in listing.content.decode()
    page = client.get(f"/admin/policy/policyversion/{version.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "&quot;annual_cap&quot;: &quot;200000.00&quot;" in html
    assert 'name="_save"' not in html  # no saving: policies change only through load_policy
    assert client.get("/admin/policy/policyversion/add/").status_code == 403
    assert client.get(f"/admin/policy/policyversion/{version.pk}/history/").status_code == 200


def test_a_file_with_coverage_loads_and_its_document_round_trips(tmp_path):
    document = copy.deepcopy(DOCUMENT)
    document["coverage"] = {"collection_end": "2025-12-31", "waiting_days": 90}
    path = write(tmp_path, document)
    run(path)
    version = PolicyVersion.objects.get()
    assert version.document == document
    assert version.policy().coverage == Coverage(collection_end=date(2025, 12, 31), waiting_days=90)
    run(path)  # the very same document again: no new revision
    assert PolicyVersion.objects.get().revision == 1
