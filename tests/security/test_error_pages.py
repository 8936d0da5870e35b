"""403, 404 and 500 pages speak Chinese and keep the site's navigation (DEBUG off, as in production)."""
from django.test import RequestFactory

from accounts.models import Role


def test_403_is_a_chinese_page_with_the_navigation(client, make_user, township):
    client.force_login(make_user(Role.TOWNSHIP_CLERK, township=township, username="clerk-403"))
    response = client.get("/fund/")
    assert response.status_code == 403
    page = response.content.decode()
    assert "无权访问" in page and 'class="mainnav"' in page and "Forbidden" not in page


def test_404_is_a_chinese_page_with_the_navigation(client, make_user, township):
    client.force_login(make_user(Role.TOWNSHIP_CLERK, township=township, username="clerk-404"))
    response = client.get("/claims/999999999/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "页面不存在" in page and 'class="mainnav"' in page and "Not Found" not in page


def test_500_is_a_chinese_page_outside_the_api(db):
    from config.urls import server_error

    request = RequestFactory().get("/claims/")
    response = server_error(request)
    assert response.status_code == 500
    page = response.content.decode()
    assert "系统出错了" in page and "Server Error" not in page
