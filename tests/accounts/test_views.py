import pytest

from accounts.models import Role
from tests.conftest import PASSWORD


def test_anonymous_user_is_sent_to_login(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response.url.startswith("/login/")


def test_login_page_is_chinese_by_default(client, db):
    response = client.get("/login/")
    assert response.status_code == 200
    assert "登录" in response.content.decode()


@pytest.mark.parametrize("role", list(Role))
def test_every_role_logs_in_and_sees_its_home(client, users_by_role, role):
    user = users_by_role[role]
    assert client.login(username=user.username, password=PASSWORD)
    response = client.get("/")
    assert response.status_code == 200
    assert user.get_role_display() in response.content.decode()


def test_logout_ends_the_session(client, clerk):
    client.force_login(clerk)
    response = client.post("/logout/")
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_english_on_request(client, clerk):
    client.force_login(clerk)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    response = client.get("/")
    assert response.status_code == 200
    assert 'lang="en"' in response.content.decode()
