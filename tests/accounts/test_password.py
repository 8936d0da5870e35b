"""Staff change their own password; an account an administrator created must change it at first
login; a session ends after 8 idle hours."""
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from tests.conftest import PASSWORD

NEW_PASSWORD = "Qingshui-river-2026"


def test_a_user_changes_their_own_password(client, clerk):
    client.force_login(clerk)
    home = client.get("/").content.decode()
    assert reverse("password_change") in home  # linked from the user menu
    page = client.get(reverse("password_change"))
    assert page.status_code == 200
    assert "修改密码" in page.content.decode()

    wrong = client.post(reverse("password_change"), {
        "old_password": "not-it", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert wrong.status_code == 200
    clerk.refresh_from_db()
    assert clerk.check_password(PASSWORD)

    done = client.post(reverse("password_change"), {
        "old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}, follow=True)
    assert done.redirect_chain[-1][0] == reverse("home")
    assert "密码已修改" in done.content.decode()
    clerk.refresh_from_db()
    assert clerk.check_password(NEW_PASSWORD)
    assert client.get("/").status_code == 200  # still signed in


def test_an_account_created_in_the_admin_must_change_its_password_first(client, users_by_role, township):
    admin_user = users_by_role[Role.ADMINISTRATOR]
    admin_user.is_superuser = True
    admin_user.save()
    client.force_login(admin_user)
    response = client.post(reverse("admin:accounts_user_add"), {
        "username": "newclerk", "password1": "Initial-pass-4821", "password2": "Initial-pass-4821",
        "usable_password": "true", "full_name": "新经办员", "role": Role.TOWNSHIP_CLERK, "township": township.pk,
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    created = User.objects.get(username="newclerk")
    assert created.must_change_password is True

    client.logout()
    assert client.post(reverse("login"), {"username": "newclerk", "password": "Initial-pass-4821"}).status_code == 302
    for path in ("/", reverse("enrollment:household_search")):
        refused = client.get(path)
        assert refused.status_code == 302 and refused["Location"] == reverse("password_change"), path
    api = client.get("/api/v1/claims/")
    assert api.status_code == 403 and api.json()["error"] == "password_change_required"
    page = client.get(reverse("password_change"))
    assert page.status_code == 200 and 'id="must-change"' in page.content.decode()

    client.post(reverse("password_change"), {
        "old_password": "Initial-pass-4821", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    created.refresh_from_db()
    assert created.must_change_password is False
    assert client.get("/").status_code == 200


def test_demo_and_ordinary_accounts_are_not_forced(client, clerk):
    assert clerk.must_change_password is False
    client.force_login(clerk)
    assert client.get("/").status_code == 200


@pytest.mark.django_db
def test_a_session_ends_after_eight_idle_hours(client, clerk, clock):
    assert settings.SESSION_COOKIE_AGE == 8 * 3600
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    start = clock("2026-06-15 08:00")
    client.force_login(clerk)
    # busy all day: every request renews the session
    for hours in (7, 14, 21):
        clock((start + timedelta(hours=hours)).astimezone(timezone.get_default_timezone())
              .strftime("%Y-%m-%d %H:%M"))
        assert client.get("/").status_code == 200, hours
    # then 8 hours and a minute without a request
    clock((start + timedelta(hours=29, minutes=1)).astimezone(timezone.get_default_timezone())
          .strftime("%Y-%m-%d %H:%M"))
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert SESSION_KEY not in client.session
