"""Scripts authenticate with a token; the browser with its session, CSRF enforced on writes."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(fast_passwords):
    return get_user_model().objects.create_user("alice", password="correct horse battery")


def test_token_for_scripts(alice):
    anonymous = APIClient()
    response = anonymous.post("/api/auth/token/", {"username": "alice", "password": "wrong"}, format="json")
    assert response.status_code == 400
    response = anonymous.post(
        "/api/auth/token/", {"username": "alice", "password": "correct horse battery"}, format="json"
    )
    assert response.status_code == 200
    token = response.json()["token"]

    script = APIClient()  # no session, no CSRF cookie: just the header
    script.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = script.post("/api/projects/", {"name": "From a script"}, format="json")
    assert response.status_code == 201 and response.json()["role"] == "owner"
    assert script.get("/api/me/").json()["username"] == "alice"

    script.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert script.get("/api/me/").status_code == 401


def test_session_for_the_browser_enforces_csrf(alice):
    browser = Client(enforce_csrf_checks=True)
    assert browser.get("/api/me/").status_code == 401
    assert browser.login(username="alice", password="correct horse battery")
    assert browser.get("/api/me/").json()["username"] == "alice"

    response = browser.post("/api/projects/", {"name": "No token"}, content_type="application/json")
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]

    browser.get("/accounts/login/")  # any page with a form sets the CSRF cookie
    csrf = browser.cookies["csrftoken"].value
    response = browser.post(
        "/api/projects/", {"name": "With token"}, content_type="application/json", HTTP_X_CSRFTOKEN=csrf
    )
    assert response.status_code == 201, response.content
