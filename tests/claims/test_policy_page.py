"""The read-only policy page (claims/views_policy.py): every staff role, year selector, figures."""
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from claims.views_policy import percent
from policy.services import policy_load
from tests.claims.conftest import policy_document

URL = reverse("claims:policy_detail")


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_anonymous_is_sent_to_login(client, db):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("role", list(Role))
def test_every_staff_role_reads_it(client, users_by_role, policy, role):
    client.force_login(users_by_role[role])
    response = client.get(URL, {"year": "2026"})
    assert response.status_code == 200
    assert "2026 inpatient compensation plan" in response.content.decode()


def test_shows_every_part_of_the_policy(client, users_by_role, make_user):
    admin = users_by_role[Role.ADMINISTRATOR]
    policy_load(data=policy_document(), user=admin)
    client.force_login(users_by_role[Role.TOWNSHIP_CLERK])

    page = text_of(client.get(URL, {"year": "2026"}))

    levels = page[page.index('id="levels"'):page.index("</table>", page.index('id="levels"'))]
    assert "400.00" in levels and "100.00" in levels and "1,000.00" in levels and "2,000.00" in levels
    assert "75%" in levels and "80%" in levels and "90%" in levels and "60%" in levels and "50%" in levels
    assert "0.00 – 10,000.00" in levels and "10,000.00 以上" in levels
    assert "380.00" in page and "420.00" in page and "1,020.00" in page  # individual, central, total
    assert "3%" in page  # risk reserve
    assert "200,000.00" in page and "出院后 90 天内" in page
    assert "未经转诊到县外市级医院、省级医院住院的，各段补偿比例降低 10 个百分点" in page
    groups = page[page.index('id="groups"'):]
    assert re.search(r"五保</td> ?<td>免起付线</td> ?<td class=\"num\">10 个百分点", groups)
    assert re.search(r"低保</td> ?<td>照常</td> ?<td class=\"num\">5 个百分点", groups)
    assert "500.00" in page and "1,200.00" in page  # delivery
    assert "K35" in page and "急性阑尾炎" in page and "acute appendicitis" not in page and "2,400.00" in page
    assert "第 1 版" in page and admin.display_name in page


def test_year_selector_and_revisions(client, users_by_role):
    admin = users_by_role[Role.ADMINISTRATOR]
    policy_load(data=policy_document(), user=admin)
    policy_load(data=policy_document(annual_cap="150000.00"), user=admin)
    policy_load(data=policy_document(year=2025, name="2025 plan"), user=admin)
    client.force_login(users_by_role[Role.AUDITOR])

    page = text_of(client.get(URL, {"year": "2026"}))
    assert '<option value="2026" selected>2026</option>' in page and '<option value="2025">2025</option>' in page
    assert "150,000.00" in page and "200,000.00" not in page and "第 2 版" in page
    assert "替换（第2版）" in page

    other = text_of(client.get(URL, {"year": "2025"}))
    assert "2025 plan" in other and '<option value="2025" selected>' in other


def test_without_a_year_shows_the_current_or_latest(client, users_by_role):
    client.force_login(users_by_role[Role.REVIEWER])
    this_year = timezone.localdate().year
    policy_load(data=policy_document(year=this_year - 1, name="plan of last year"))
    assert "plan of last year" in client.get(URL).content.decode()
    policy_load(data=policy_document(year=this_year, name="plan of this year"))
    assert "plan of this year" in client.get(URL).content.decode()


def test_no_policy_gives_a_friendly_message(client, users_by_role):
    client.force_login(users_by_role[Role.FACILITY_CLERK])
    response = client.get(URL, {"year": "2031"})
    assert response.status_code == 200
    assert "2031 年度尚未载入补偿方案" in text_of(response)
    assert "load_policy" in text_of(response)


def test_no_policy_at_all(client, users_by_role):
    client.force_login(users_by_role[Role.CASHIER])
    response = client.get(URL, {"year": "abc"})
    assert response.status_code == 200
    assert "尚未载入补偿方案" in text_of(response)


def test_percent():
    from decimal import Decimal

    assert [percent(Decimal(x)) for x in ("0.75", "0.755", "1.00", "0.03", "0")] == ["75%", "75.5%", "100%", "3%", "0%"]
