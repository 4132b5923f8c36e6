"""The review UI for real: `bearwatch ui` in a subprocess, headless Chromium (Debian's
`chromium` + `chromium-driver`, installed by `make system-deps`) driven by Selenium.

An operator logs in, claims an alert and reviews it with the keyboard (J = next, B = bear);
the verdict must be in the database. Screenshots of Review, Reports and Rollout go to
test-output/screenshots/ (and, when BEARWATCH_UPDATE_DOCS=1, to docs/screenshots/).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from db.models import AlertRow
from kernel.records import Stage, utc_now
from tests.review_ui import builders as b
from tests.review_ui.conftest import UIEnv, make_ui_env

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "test-output" / "screenshots"
DOCS_SHOTS = REPO / "docs" / "screenshots"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
BEAR_PHOTO = REPO.parent / "shared" / "data" / "bears" / "images" / "bear" / "day" / \
    "bachngoh_black_00000001.jpg"
IN_CI = os.environ.get("CI", "").lower() == "true"
# The detector's region of each frame of the served alert (f0 and f1 are 320x240, the bear
# photo 1024x683 with the bear in this box).
REGIONS = [(40, 30, 120, 90), (300, 90, 640, 590), (100, 60, 120, 90)]
PHONE = (390, 844)


def _ensure_chromium() -> None:
    if Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists():
        return
    subprocess.run(["make", "-C", str(REPO), "system-deps"], check=False, timeout=900)
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        reason = (f"{CHROMIUM} and {CHROMEDRIVER} are needed; `make system-deps` (as root) "
                  "installs Debian's chromium and chromium-driver")
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"`bearwatch ui` exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"review UI not healthy at {url} after {timeout_s} s")


@contextmanager
def running_ui(env: UIEnv, tmp_path: Path) -> Iterator[str]:
    """`bearwatch ui` on `env`'s config on a free port, until the block ends; yields its URL."""
    port = _free_port()
    bearwatch = Path(sys.executable).parent / "bearwatch"
    log = (tmp_path / "ui.log").open("wb")
    proc = subprocess.Popen([str(bearwatch), "--config", str(env.config_path), "ui", "--port",
                             str(port)], stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[UIEnv, str]]:
    _ensure_chromium()
    env = make_ui_env(tmp_path)
    snap = env.root / "snapshots" / "bear.jpg"
    if BEAR_PHOTO.exists():
        shutil.copy(BEAR_PHOTO, snap)
    else:
        shutil.copy(env.root / "snapshots" / "snap.jpg", snap)
    b.reviewed_history(env.sessions, env.users["bob"], now=utc_now())
    b.store(env.sessions, [b.alert(snapshot="bear.jpg", peak=0.97, first_seen=utc_now())],
            frame_paths=["f0.jpg", "bear.jpg", "f1.jpg"], regions=REGIONS)
    with running_ui(env, tmp_path) as url:
        yield env, url


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'chrome'}",
                 "--window-size=1600,1300"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        yield driver
    finally:
        driver.quit()


def _text_appears(driver: WebDriver, text: str, timeout_s: float = 30) -> None:
    WebDriverWait(driver, timeout_s).until(
        ec.presence_of_element_located((By.XPATH, f"//*[contains(text(), {text!r})]")))


def _login(driver: WebDriver, url: str, name: str) -> None:
    driver.get(url)
    field = WebDriverWait(driver, 60).until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, "input[aria-label='User name']")))
    field.send_keys(name)
    driver.find_element(By.CSS_SELECTOR, "input[aria-label='Password']").send_keys(b.PASSWORD)
    driver.find_element(By.XPATH, "//button[.//p[text()='Log in']]").click()
    _text_appears(driver, f"{name}")


def _press(driver: WebDriver, key: str) -> None:
    # Focus the page, not an input (shortcuts do not fire while typing in a field).
    driver.find_element(By.TAG_NAME, "h1").click()
    ActionChains(driver).send_keys(key).perform()


def _shot(driver: WebDriver, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    time.sleep(1.5)  # let charts and images finish drawing
    path = SHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    if os.environ.get("BEARWATCH_UPDATE_DOCS") == "1":
        DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, DOCS_SHOTS / path.name)
    return path


def _nav(driver: WebDriver, title: str) -> None:
    WebDriverWait(driver, 30).until(ec.element_to_be_clickable(
        (By.XPATH, f"//a[@data-testid='stSidebarNavLink'][contains(., '{title}')]"))).click()


def test_browser_operator_reviews_by_keyboard_and_pages_render(
        served: tuple[UIEnv, str], browser: WebDriver) -> None:
    env, url = served
    _login(browser, url, "ann")
    _text_appears(browser, "Claim next alert")
    _press(browser, "j")  # J: claim the next alert
    _text_appears(browser, "Shadow cam · Shadow zone")
    _text_appears(browser, "Warn now")
    review_png = _shot(browser, "review")
    with env.sessions() as s:
        pending = s.query(AlertRow.id).filter(AlertRow.review_state == "pending").all()
    assert len(pending) == 1
    (alert_id,) = pending[0]
    _press(browser, "b")  # B: bear
    deadline = time.monotonic() + 30
    verdict = None
    while time.monotonic() < deadline and verdict is None:
        with env.sessions() as s:
            row = s.get(AlertRow, alert_id)
            verdict = row.verdict if row is not None else None
        time.sleep(0.3)
    assert verdict == "bear"
    _text_appears(browser, "Saved: bear")

    # Live queue: an alert stored now shows up on the open page without a reload (<= 5 s).
    b.store(env.sessions, [b.alert(camera="cam-p", zone="pilotz", stage=Stage.PILOT, peak=0.61,
                                   first_seen=utc_now())])
    _text_appears(browser, "pilotz/cam-p 0.61", timeout_s=5)

    browser.delete_all_cookies()
    _login(browser, url, "ada")
    _nav(browser, "Rollout")
    _text_appears(browser, "Controller now:")
    rollout_png = _shot(browser, "rollout")

    browser.delete_all_cookies()  # else the signed session cookie logs ada back in
    _login(browser, url, "ana")
    _text_appears(browser, "Rates per zone")
    _text_appears(browser, "Model score vs verdict")
    reports_png = _shot(browser, "reports")
    for png in (review_png, rollout_png, reports_png):
        assert png.stat().st_size > 20_000, f"{png} looks blank"


def _login_form(driver: WebDriver, name: str, password: str = b.PASSWORD) -> None:
    """Log in on the form already shown (a deep link's URL is kept)."""
    field = WebDriverWait(driver, 60).until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, "input[aria-label='User name']")))
    field.send_keys(name)
    driver.find_element(By.CSS_SELECTOR, "input[aria-label='Password']").send_keys(password)
    driver.find_element(By.XPATH, "//button[.//p[text()='Log in']]").click()


def _shows_login_form(driver: WebDriver, timeout_s: float = 60) -> None:
    WebDriverWait(driver, timeout_s).until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, "input[aria-label='User name']")))


def _no_page_not_found(driver: WebDriver) -> None:
    time.sleep(1.0)  # the dialog, when there is one, comes with the first run
    assert "Page not found" not in driver.find_element(By.TAG_NAME, "body").text


def _session_cookie(driver: WebDriver) -> dict[str, object] | None:
    from review_ui.session_token import COOKIE_NAME

    return driver.get_cookie(COOKIE_NAME)  # type: ignore[no-any-return]


def test_browser_deep_link_lands_after_login_and_refresh_keeps_the_session(
        served: tuple[UIEnv, str], browser: WebDriver) -> None:
    _env, url = served
    browser.get(f"{url}/reports?zone=pilotz")
    _shows_login_form(browser)
    _no_page_not_found(browser)
    _login_form(browser, "ana")
    _text_appears(browser, "Zone pilotz only, as the link asked.")
    # Reports is the analyst's first page, which Streamlit shows as "/"; the query is kept.
    assert browser.current_url.endswith("/?zone=pilotz"), browser.current_url
    cookie = _session_cookie(browser)
    assert cookie is not None and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    browser.refresh()
    _text_appears(browser, "Zone pilotz only, as the link asked.")
    _text_appears(browser, "Rates per zone")
    assert not browser.find_elements(By.CSS_SELECTOR, "input[aria-label='User name']")
    _no_page_not_found(browser)
    # A page the role does not see, by its URL: said so, no "Page not found".
    browser.get(f"{url}/rollout")
    _text_appears(browser, "Your role does not see this page.")
    _no_page_not_found(browser)
    # Log out: the cookie goes, and a refresh shows the form again.
    WebDriverWait(browser, 30).until(ec.element_to_be_clickable(
        (By.XPATH, "//button[.//p[text()='Log out']]"))).click()
    _shows_login_form(browser)
    deadline = time.monotonic() + 10
    while _session_cookie(browser) is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _session_cookie(browser) is None
    browser.refresh()
    _shows_login_form(browser)


def test_browser_forged_expired_or_stale_cookie_is_refused(
        served: tuple[UIEnv, str], browser: WebDriver) -> None:
    from db.users import session_stamp, update_user
    from kernel.config import load_config
    from review_ui.session_token import COOKIE_NAME, TokenSigner, load_secret

    env, url = served
    ui = load_config(env.config_path).review_ui
    signer = TokenSigner(load_secret(ui.session_secret_env, env.root))
    ann = env.users["ann"].id
    with env.sessions() as s:
        stamp = session_stamp(s, ann)
    assert stamp is not None
    browser.get(f"{url}/review")
    _shows_login_form(browser)

    def visit_with(value: str) -> None:
        browser.delete_all_cookies()
        browser.add_cookie({"name": COOKIE_NAME, "value": value, "path": "/",
                            "sameSite": "Strict"})
        browser.get(f"{url}/review")

    visit_with(signer.sign(ann, stamp, now=utc_now()))  # the control: a good one logs in
    _text_appears(browser, "Claim next alert")
    forged = TokenSigner("not the server's key at all").sign(ann, stamp, now=utc_now())
    expired = signer.sign(ann, stamp, now=utc_now() - timedelta(
        minutes=ui.idle_timeout_minutes, seconds=5))
    for value in (forged, expired, signer.sign(ann, stamp, now=utc_now()) + "x"):
        visit_with(value)
        _shows_login_form(browser)
        assert not browser.find_elements(By.XPATH, "//*[contains(text(), 'Claim next alert')]")
    # A password change ends a session signed before it.
    good = signer.sign(ann, stamp, now=utc_now())
    with env.sessions.begin() as s:
        update_user(s, "ann", actor="test", now=utc_now(), password="a brand new password")
    visit_with(good)
    _shows_login_form(browser)


def test_browser_admin_opens_reports_with_human_numbers(
        served: tuple[UIEnv, str], browser: WebDriver) -> None:
    _env, url = served
    _login(browser, url, "ada")
    _nav(browser, "Reports")
    _text_appears(browser, "Rates per zone")
    _text_appears(browser, "Toward the gates")
    body = browser.find_element(By.TAG_NAME, "body").text
    # a card: the rate as its value, its counts and interval beneath (the table is a canvas)
    assert re.search(r"\n\d+(\.\d)? %\n\d+ of \d+ · 95 % CI \d+(\.\d)?–\d+(\.\d)? %", body), body
    assert re.search(r"\d+ of 20 reviews", body), body
    assert re.search(r"\b\d+ (s|min|h)\b", body), body  # the median latency as a duration
    assert "false_alert" not in body and "night_false_alert" not in body
    png = _shot(browser, "reports")
    assert png.stat().st_size > 20_000


def _frame_src(driver: WebDriver) -> str:
    return str(driver.find_element(By.CSS_SELECTOR, "img.bw-frame-img").get_attribute("src"))


def _scroll(driver: WebDriver, to: str) -> None:
    """Scroll whatever scrolls (Streamlit scrolls its main block, not the window) to `to`
    (a JS expression of `el`)."""
    driver.execute_script(
        "for (const el of [document.scrollingElement, ...document.querySelectorAll("
        f"'[data-testid=stMain], [data-testid=stAppViewContainer]')]) el.scrollTop = {to};")


def _rect(driver: WebDriver, css: str) -> dict[str, float]:
    rect: dict[str, float] = driver.execute_script(
        "return arguments[0].getBoundingClientRect().toJSON();",
        driver.find_element(By.CSS_SELECTOR, css))
    return rect


def _region_box_matches(driver: WebDriver, region: tuple[int, int, int, int],
                        size: tuple[int, int]) -> None:
    """The drawn box sits where the region is on the image as displayed (within 2 px)."""
    img, box = _rect(driver, "img.bw-frame-img"), _rect(driver, ".bw-region")
    sx, sy = img["width"] / size[0], img["height"] / size[1]
    x, y, w, h = region
    got = (box["x"] - img["x"], box["y"] - img["y"], box["width"], box["height"])
    want = (x * sx, y * sy, w * sx, h * sy)
    assert all(abs(g - e) <= 2 for g, e in zip(got, want, strict=True)), (got, want)


def test_browser_review_filmstrip_region_box_phone_layout_and_tab_title(
        served: tuple[UIEnv, str], browser: WebDriver) -> None:
    env, url = served
    _login(browser, url, "ann")
    # The tab title counts the alerts waiting (the served one; the history is reviewed).
    WebDriverWait(browser, 15).until(lambda d: d.title == "(1) Bearwatch")
    _text_appears(browser, "Claim next alert")
    _press(browser, "j")
    _text_appears(browser, "Frame 1 of 3")

    # Filmstrip: three frames, three different pictures; → and ← move between them.
    strip = ".bw-strip .bw-thumb img"
    WebDriverWait(browser, 15).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, strip)) == 3)
    thumbs = [t.get_attribute("src") for t in browser.find_elements(By.CSS_SELECTOR, strip)]
    assert len(set(thumbs)) == 3
    first = _frame_src(browser)
    _region_box_matches(browser, REGIONS[0], (320, 240))
    _press(browser, Keys.ARROW_RIGHT)
    _text_appears(browser, "Frame 2 of 3")
    second = _frame_src(browser)
    assert second != first
    _region_box_matches(browser, REGIONS[1], (1024, 683))  # the bear, boxed
    _press(browser, Keys.ARROW_RIGHT)
    _text_appears(browser, "Frame 3 of 3")
    third = _frame_src(browser)
    assert len({first, second, third}) == 3
    browser.find_element(By.CSS_SELECTOR, ".st-key-review_frame_prev button").click()
    _text_appears(browser, "Frame 2 of 3")
    assert _frame_src(browser) == second

    # Zoom: Z opens the frame at its natural size, box and enlarged region with it.
    _press(browser, "z")
    WebDriverWait(browser, 15).until(ec.visibility_of_element_located(
        (By.CSS_SELECTOR, "[role='dialog'] .bw-zoom img.bw-frame-img")))
    zoomed = _rect(browser, "[role='dialog'] .bw-zoom img.bw-frame-img")
    assert round(zoomed["width"]) == 1024
    assert browser.find_elements(By.CSS_SELECTOR, "[role='dialog'] .bw-region")
    ActionChains(browser).send_keys(Keys.ESCAPE).perform()
    WebDriverWait(browser, 15).until(ec.invisibility_of_element_located(
        (By.CSS_SELECTOR, "[role='dialog']")))
    review_png = _shot(browser, "review")

    # A 390 x 844 phone: the frame first, the verdict bar in the first screen, reasons 1..8
    # in reading order by where they are drawn.
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": PHONE[0], "height": PHONE[1], "deviceScaleFactor": 2, "mobile": True})
    _scroll(browser, "0")
    time.sleep(1.0)  # the layout settles at the new width
    WebDriverWait(browser, 15).until(
        lambda d: d.execute_script("return window.innerWidth") == PHONE[0])
    bear = _rect(browser, ".st-key-review_bear button")
    frame = _rect(browser, "img.bw-frame-img")
    assert bear["top"] >= 0 and bear["bottom"] <= PHONE[1], bear
    assert frame["top"] < PHONE[1] / 2 and frame["width"] > PHONE[0] * 0.8, frame
    shown = []
    for el in browser.find_elements(By.CSS_SELECTOR, "[class*='st-key-review_reason_btn_'] button"):
        if el.text:  # not the help tooltip's own (empty, unlaid) button
            r = browser.execute_script("return arguments[0].getBoundingClientRect().toJSON();",
                                       el)
            shown.append((round(r["top"]), round(r["left"]), el.text.split(" · ")[0]))
    assert [n for _top, _left, n in sorted(shown)] == [str(i) for i in range(1, 9)], shown
    # the bar stays in view when the page scrolls
    _scroll(browser, "el.scrollHeight")
    time.sleep(0.5)
    bear = _rect(browser, ".st-key-review_bear button")
    assert bear["top"] >= 0 and bear["bottom"] <= PHONE[1], bear
    _scroll(browser, "0")
    phone_png = _shot(browser, "review-phone")
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

    # A new alert: the title follows within the refresh (2 s here).
    b.store(env.sessions, [b.alert(camera="cam-p", zone="pilotz", stage=Stage.PILOT, peak=0.7,
                                   first_seen=utc_now())])
    WebDriverWait(browser, 8).until(lambda d: d.title == "(2) Bearwatch")
    for png in (review_png, phone_png):
        assert png.stat().st_size > 20_000, f"{png} looks blank"
