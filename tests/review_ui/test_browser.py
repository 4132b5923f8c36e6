"""The review UI for real: `bearwatch ui` in a subprocess, headless Chromium (Debian's
`chromium` + `chromium-driver`, installed by `make system-deps`) driven by Selenium.

An operator logs in, claims an alert and reviews it with the keyboard (J = next, B = bear);
the verdict must be in the database. Screenshots of Review, Reports and Rollout go to
test-output/screenshots/ (and, when BEARWATCH_UPDATE_DOCS=1, to docs/screenshots/).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
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
            frame_paths=["f0.jpg", "bear.jpg", "f1.jpg"])
    port = _free_port()
    bearwatch = Path(sys.executable).parent / "bearwatch"
    log = (tmp_path / "ui.log").open("wb")
    proc = subprocess.Popen([str(bearwatch), "--config", str(env.config_path), "ui", "--port",
                             str(port)], stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield env, url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


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

    _login(browser, url, "ana")
    _text_appears(browser, "Rates per zone")
    _text_appears(browser, "Model score vs verdict")
    reports_png = _shot(browser, "reports")
    for png in (review_png, rollout_png, reports_png):
        assert png.stat().st_size > 20_000, f"{png} looks blank"
