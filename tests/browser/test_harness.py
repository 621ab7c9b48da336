"""The harness itself: the server runs, Chromium signs in through the real login form, and a wrong
password is refused."""

from playwright.sync_api import expect


def test_sign_in_and_see_the_demo_project(server, signed_in, shot):
    page = signed_in("admin")
    expect(page.get_by_text("Demo project")).to_be_visible()
    shot(page, "harness-home")


def test_wrong_password_is_refused(server, browser):
    context = browser.new_context()
    page = context.new_page()
    page.goto(server.url + "/accounts/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "not her password")
    page.click("button[type=submit]")
    expect(page.get_by_text("didn't match")).to_be_visible()
    context.close()


def test_api_helper_uses_token_auth(server):
    status, me = server.api("GET", "/api/me/", user="bob")
    assert status == 200 and me["username"] == "bob"
