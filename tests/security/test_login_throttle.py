"""Login throttling (django-axes, accounts.backends): after AXES_FAILURE_LIMIT wrong passwords for
one username from one address, even the right password is refused for the cool-off, with a clear
message; other users and other addresses are unaffected; the lockout is logged without the password."""
import logging
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD

WRONG = "wrong-password-9"
LOCKED_TEXT = "登录失败次数过多"


def attempt(client, username, password, address="10.0.0.1"):
    return client.post(reverse("login"), {"username": username, "password": password},
                       REMOTE_ADDR=address)


def lock_out(client, username, address="10.0.0.1"):
    responses = [attempt(client, username, WRONG, address) for _ in range(settings.AXES_FAILURE_LIMIT)]
    for response in responses[:-1]:
        assert response.status_code == 200
        assert "用户名或密码不正确" in response.content.decode()
    return responses[-1]


def test_settings_lock_five_failures_of_a_username_and_address_for_fifteen_minutes():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME == timedelta(minutes=15)
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert settings.AXES_HANDLER == "axes.handlers.database.AxesDatabaseHandler"
    assert settings.AUTHENTICATION_BACKENDS[0] == "accounts.backends.LoginThrottleBackend"


def test_after_five_failures_even_the_right_password_is_refused_with_a_message(client, clerk):
    last = lock_out(client, "clerk")
    assert last.status_code == 429
    assert LOCKED_TEXT in last.content.decode()

    response = attempt(client, "clerk", PASSWORD)
    assert response.status_code == 429
    html = response.content.decode()
    assert LOCKED_TEXT in html and "15 分钟后再试" in html
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302  # still not logged in


def test_the_lock_message_is_in_english_on_request(client, clerk):
    lock_out(client, "clerk")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = attempt(client, "clerk", PASSWORD).content.decode()
    assert "Too many failed logins" in html and "15 minutes" in html


def test_other_users_and_other_addresses_are_not_locked(client, clerk, other_clerk):
    lock_out(client, "clerk", address="10.0.0.1")

    other_user = attempt(Client(), "clerk2", PASSWORD, address="10.0.0.1")
    assert other_user.status_code == 302 and other_user.url == reverse("home")

    other_address = Client()
    same_user_elsewhere = attempt(other_address, "clerk", PASSWORD, address="10.0.0.2")
    assert same_user_elsewhere.status_code == 302
    assert other_address.get("/").status_code == 200


def test_the_lock_ends_after_the_cool_off(client, clerk):
    lock_out(client, "clerk")
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16))
    response = attempt(client, "clerk", PASSWORD)
    assert response.status_code == 302 and response.url == reverse("home")


def test_a_success_before_the_limit_resets_the_count(client, clerk):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, "clerk", WRONG)
    assert attempt(Client(), "clerk", PASSWORD).status_code == 302
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client, "clerk", WRONG).status_code == 200
    assert attempt(Client(), "clerk", PASSWORD).status_code == 302


def test_the_lockout_is_logged_without_the_password(client, clerk, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "Sup3r-secret-guess"
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "clerk", secret)
    attempt(client, "clerk", PASSWORD)

    lockouts = [record for record in caplog.records if record.name == "accounts.security"]
    assert lockouts and "clerk" in lockouts[0].getMessage() and "10.0.0.1" in lockouts[0].getMessage()
    assert any("Locking out" in record.getMessage() for record in caplog.records if record.name.startswith("axes"))
    assert secret not in caplog.text and PASSWORD not in caplog.text
    stored = AccessAttempt.objects.get()
    # five wrong passwords and the refused right one (an attempt during the lock counts and restarts it)
    assert (stored.username, stored.ip_address, stored.failures_since_start) == ("clerk", "10.0.0.1", 6)
    assert secret not in stored.post_data and PASSWORD not in stored.post_data


@pytest.mark.parametrize("way", ["login", "force_login"])
def test_the_test_client_still_logs_in_without_a_request(client, clerk, way):
    if way == "login":
        assert client.login(username="clerk", password=PASSWORD)
    else:
        client.force_login(clerk)
    assert client.get("/").status_code == 200


def test_behind_the_county_proxy_the_lock_is_per_client_address(client, clerk, settings):
    """With TRUSTED_PROXY_COUNT=1 every login comes from the proxy's address; the address the
    proxy appended to X-Forwarded-For is the one locked, and what a client wrote to the left of
    it is never read."""
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.9.9.9"

    def through_proxy(password, client_address, forged=""):
        chain = f"{forged}, {client_address}" if forged else client_address
        return client.post(reverse("login"), {"username": clerk.username, "password": password},
                           REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=chain)

    for _ in range(settings.AXES_FAILURE_LIMIT):
        through_proxy(WRONG, "203.0.113.7", forged="198.51.100.1")
    assert through_proxy(PASSWORD, "203.0.113.7").status_code == 429
    # a forged leftmost entry does not get the locked client out
    assert through_proxy(PASSWORD, "203.0.113.7", forged="198.51.100.2").status_code == 429
    # the same username from another client behind the same proxy logs in
    response = through_proxy(PASSWORD, "203.0.113.8")
    assert response.status_code == 302
