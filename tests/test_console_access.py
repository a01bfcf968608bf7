"""Who may use the console. Bound to a loopback address other than 127.0.0.1 (127.0.0.2, which the config
treats as any non-loopback bind), every route the app has, pages, assets and actions, is refused without
the token and works with it; a browser signs in through the form; cross-site and CSRF-less requests are
refused. Without a token (127.0.0.1 only), only loopback host names are answered."""

from __future__ import annotations

import json
import re
import time

import pytest
from selenium.webdriver.common.by import By
from starlette.routing import Mount, Route
from support.browser import browser, page_wait  # noqa: F401  (fixture)
from support.console import console_config, request
from support.images import part_images
from support.inprocess import MqttListener, json_frame, running_daemon, small_images
from support.line import IMAGE_TOPIC, PREFIX

from inspectd.config import ConfigError, parse_config

TOKEN = "s3cret-console-token-0123"
RESULTS = f"{PREFIX}/line/result"


@pytest.fixture
def token_file(tmp_path):
    path = tmp_path / "console.token"
    path.write_text(TOKEN + "\n")
    path.chmod(0o600)
    return path


def routes_of(app, frame_id: str) -> list[tuple[str, str]]:
    """(method, path) of every route the console app serves, path parameters filled in."""
    found = []
    for route in app.routes:
        if isinstance(route, Mount):
            found += [("GET", f"{route.path}/{name}") for name in ("index.html", "console.js", "console.css")]
        elif isinstance(route, Route):
            path = route.path.replace("{frame_id}", frame_id).replace("{product}", "bottle")
            found += [(method, path) for method in sorted(route.methods - {"HEAD"})]
    return found


def body_for(path: str, token: str = "") -> tuple[dict[str, str], bytes]:
    """What each action is sent: a label, a rollback, the sign-in form (with ``token``)."""
    if path == "/login":
        return {"Content-Type": "application/x-www-form-urlencoded"}, f"token={token}".encode()
    action = {"label": "defective"} if path.endswith("/label") else {"version": "v0001"}
    return {"Content-Type": "application/json"}, json.dumps(action).encode()


def serving(url: str, headers: dict[str, str], version: str) -> dict:
    """The snapshot once ``version`` serves (the watcher swaps it in shortly after a rollback)."""
    deadline = time.monotonic() + 30
    while True:
        snapshot = json.loads(request(url, "/api/snapshot", headers=headers)[2])
        if snapshot["products"]["bottle"]["serving"] == version or time.monotonic() > deadline:
            return snapshot
        time.sleep(0.1)


def test_non_loopback_bind_needs_the_token_for_everything(mqtt_broker, banks_dir, tmp_path, token_file,
                                                          data_root, browser):
    config = console_config(mqtt_broker, banks_dir, tmp_path, bind="127.0.0.2", token_file=str(token_file))
    listener = MqttListener(mqtt_broker, f"{PREFIX}/#")
    try:
        with running_daemon(config) as daemon:
            url = daemon.console.url
            assert url.startswith("http://127.0.0.2:")
            listener.publish(IMAGE_TOPIC, json_frame(small_images(data_root, "bottle", "test/contamination", 1)[0], "p0"))
            listener.publish(IMAGE_TOPIC, json_frame(part_images(data_root, 1)[0], "p1"))
            rejected, frame_id = (json.loads(m)["frame_id"] for m in listener.wait_for(RESULTS, 2))
            routes = routes_of(daemon.console.app, rejected)
            assert len(routes) >= 11, routes
            assert ("POST", "/api/products/bottle/rollback") in routes and ("GET", "/") in routes
            # without the token: nothing but the sign-in form, which is itself a 401
            for method, path in routes + [("GET", "/nowhere"), ("GET", "/static/../pyproject.toml")]:
                for headers in ({}, {"Authorization": "Bearer wrong-token-0000000"}, {"Cookie": "inspectd_console=forged"}):
                    headers = {"Accept": "text/html", **headers, **body_for(path)[0]}
                    status, _, body = request(url, path, method, headers, body_for(path)[1])
                    assert status in (401, 403), (method, path, headers, status, body[:200])
                    assert rejected.encode() not in body and b"console.js" not in body, (method, path)
            # with it: every page and action works
            bearer = {"Authorization": f"Bearer {TOKEN}"}
            for method, path in routes:
                status, _, body = request(url, path, method, {**bearer, **body_for(path)[0]}, body_for(path, TOKEN)[1])
                assert status in ((303,) if path == "/login" else (200, 202)), (method, path, status, body[:200])
            snapshot = serving(url, bearer, "v0002")
            assert snapshot["products"]["bottle"]["serving"] == "v0002"  # the rollback above took effect
            assert any(e["event"] == "feedback_applied" and e["label"] == "defective" for e in snapshot["events"])

            # a browser: the sign-in form, then the live view; a wrong token stays out
            browser.get(url)
            assert "sign in" in browser.title and not browser.find_elements(By.ID, "live")
            browser.find_element(By.ID, "token").send_keys("not-the-token-at-all")
            browser.find_element(By.ID, "sign-in").click()
            page_wait(browser, 10).until(lambda d: "Wrong token" in d.page_source)
            assert not browser.find_elements(By.ID, "live")
            browser.find_element(By.ID, "token").send_keys(TOKEN)
            browser.find_element(By.ID, "sign-in").click()
            page_wait(browser, 15).until(lambda d: d.find_element(By.ID, "connection").text == "live")
            page_wait(browser, 5).until(
                lambda d: d.find_element(By.ID, "source-line").get_attribute("data-frame-id") == frame_id)
            cookie = browser.get_cookie("inspectd_console")
            assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
            browser.find_element(By.ID, "sign-out").click()
            page_wait(browser, 10).until(lambda d: "sign in" in d.title)
            status, _, _ = request(url, "/api/snapshot", headers={"Cookie": f"inspectd_console={cookie['value']}"})
            assert status == 401
    finally:
        listener.close()


def test_cookie_sessions_need_same_origin_and_the_csrf_token(mqtt_broker, banks_dir, tmp_path, token_file):
    config = console_config(mqtt_broker, banks_dir, tmp_path, bind="127.0.0.2", token_file=str(token_file))
    with running_daemon(config) as daemon:
        url = daemon.console.url
        host = url.split("//")[1].rstrip("/")
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        status, _, _ = request(url, "/login", "POST", form, f"token={TOKEN}x".encode())
        assert status == 401
        status, _, _ = request(url, "/login", "POST", form, f"token={TOKEN}&pad=".encode() + b"x" * 1_000_000)
        assert status == 401  # the form is read only so far
        status, _, _ = request(url, "/login", "POST", {**form, "Origin": "http://evil.example"}, f"token={TOKEN}".encode())
        assert status == 403
        status, headers, _ = request(url, "/login", "POST", form, f"token={TOKEN}".encode())
        assert status == 303
        assert re.search(r"HttpOnly", headers["set-cookie"], re.I) and "samesite=strict" in headers["set-cookie"].lower()
        session = {"Cookie": headers["set-cookie"].split(";")[0]}
        status, _, body = request(url, "/api/snapshot", headers=session)
        assert status == 200
        csrf = json.loads(body)["csrf"]
        rollback = ("/api/products/bottle/rollback", "POST")
        payload = json.dumps({"version": "v0001"}).encode()
        refused = [
            {},                                                           # no CSRF token
            {"X-CSRF-Token": "guess"},                                    # a wrong one
            {"X-CSRF-Token": csrf, "Origin": "http://evil.example"},      # the right one, from another site
            {"X-CSRF-Token": csrf, "Sec-Fetch-Site": "cross-site"},
            {"X-CSRF-Token": csrf, "Sec-Fetch-Site": "same-site"},
        ]
        for extra in refused:
            status, _, body = request(url, rollback[0], rollback[1], {**session, **extra}, payload)
            assert status == 403, (extra, status, body)
        status, _, body = request(url, rollback[0], rollback[1],
                                  {**session, "X-CSRF-Token": csrf, "Origin": f"http://{host}",
                                   "Sec-Fetch-Site": "same-origin"}, payload)
        assert status == 200 and json.loads(body)["restored"] == "v0001", body


def test_without_a_token_only_loopback_names_are_answered(mqtt_broker, banks_dir, tmp_path):
    with running_daemon(console_config(mqtt_broker, banks_dir, tmp_path)) as daemon:
        url = daemon.console.url
        port = url.rstrip("/").rsplit(":", 1)[1]
        assert request(url, "/", headers={"Host": f"127.0.0.1:{port}"})[0] == 200
        assert request(url, "/", headers={"Host": f"localhost:{port}"})[0] == 200
        status, _, _ = request(url, "/api/snapshot", headers={"Host": f"attacker.example:{port}"})  # DNS rebinding
        assert status == 403
        status, _, _ = request(url, "/api/products/bottle/rollback", "POST", {}, b'{"version": "v0001"}')
        assert status == 403  # no CSRF token


@pytest.mark.parametrize("bind", ["0.0.0.0", "127.0.0.2", "192.168.1.20"])
def test_config_needs_a_token_file_off_loopback(tmp_path, bind):
    base = {"products": {"bottle": {"banks_dir": str(tmp_path)}},
            "cameras": [{"name": "cam", "source": {"type": "image_folder", "uri": str(tmp_path)}, "product": "bottle"}]}
    with pytest.raises(ConfigError, match=r"console\.token_file: got none.*not loopback"):
        parse_config({**base, "console": {"enabled": True, "bind": bind}})
    parse_config({**base, "console": {"enabled": False, "bind": bind}})  # off: nothing to protect
    short = tmp_path / "short.token"
    short.write_text("abc\n")
    with pytest.raises(ConfigError, match=r"console\.token_file: .*at least 12"):
        parse_config({**base, "console": {"enabled": True, "bind": bind, "token_file": str(short)}})
    with pytest.raises(ConfigError, match=r"console\.token_file: .*No such file"):
        parse_config({**base, "console": {"enabled": True, "bind": bind, "token_file": str(tmp_path / "none")}})
    with pytest.raises(ConfigError, match=r"console\.port: got 70000"):
        parse_config({**base, "console": {"enabled": True, "port": 70000}})
    assert parse_config({**base, "console": {"enabled": True}}).console.bind == "127.0.0.1"
