"""No notifier, said in the browser: `bearwatch ui` on a config with no notifier, in headless
Chromium. The Review page names the pilot zone that warns no one, a bear verdict there says
no one was warned, and on the Rollout page a promotion of that zone is refused until an admin
gives an override reason, which is audited."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from db.audit import recent
from db.zones import get_zone
from kernel.records import Stage, utc_now
from tests.review_ui import builders as b
from tests.review_ui.conftest import UIEnv, make_ui_env
from tests.review_ui.test_browser import (  # noqa: F401 (browser: a fixture)
    _ensure_chromium,
    _login,
    _nav,
    _press,
    _shot,
    _text_appears,
    browser,
    running_ui,
)

pytestmark = pytest.mark.browser
NO_NOTIFIER = "notifier:\n  webhooks: []\n"


@pytest.fixture
def unnotified(tmp_path: Path) -> Iterator[tuple[UIEnv, str]]:
    """The UI on the usual test world, but with no notifier at all (the default config's)."""
    _ensure_chromium()
    env = make_ui_env(tmp_path)
    text = env.config_path.read_text()
    start, end = text.index("notifier:"), text.index("review_ui:")
    env.config_path.write_text(text[:start] + NO_NOTIFIER + text[end:])
    b.store(env.sessions, [b.alert(camera="cam-p", zone="pilotz", stage=Stage.PILOT, peak=0.6,
                                   first_seen=utc_now())])
    with running_ui(env, tmp_path) as url:
        yield env, url


def _field(driver: WebDriver, label: str) -> object:
    """The first input with this aria-label (pilotz is the first zone on the Rollout page)."""
    return WebDriverWait(driver, 30).until(ec.element_to_be_clickable(
        (By.CSS_SELECTOR, f"input[aria-label^='{label}']")))


def _click(driver: WebDriver, text: str) -> None:
    WebDriverWait(driver, 30).until(ec.element_to_be_clickable(
        (By.XPATH, f"(//button[.//p[text()='{text}']])[1]"))).click()


def _stage(env: UIEnv, zone_id: str) -> Stage:
    with env.sessions() as s:
        return get_zone(s, zone_id).stage


def _promote_pilotz(driver: WebDriver, reason: str) -> None:
    action = _field(driver, "Action")
    action.click()  # type: ignore[attr-defined]
    action.send_keys("promote", Keys.ENTER)  # type: ignore[attr-defined]
    reason_field = _field(driver, "Reason (required)")
    reason_field.send_keys(reason, Keys.TAB)  # type: ignore[attr-defined]
    _click(driver, "Apply")
    _text_appears(driver, "Apply promote to pilotz?")


def test_browser_no_notifier_banner_verdict_note_and_promotion_guard(
        unnotified: tuple[UIEnv, str], browser: WebDriver) -> None:  # noqa: F811 (fixture)
    env, url = unnotified
    _login(browser, url, "ann")
    _text_appears(browser, "No one is warned for pilotz (pilot)")
    _press(browser, "j")
    _text_appears(browser, "Pilot cam · Pilot zone")
    _press(browser, "b")  # a bear, in a pilot zone: this is when people should be warned
    _text_appears(browser, "No one was warned: zone pilotz has no notifier.")
    _shot(browser, "review-no-notifier")

    browser.delete_all_cookies()
    _login(browser, url, "ada")
    _nav(browser, "Rollout")
    _text_appears(browser, "No one is warned for pilotz (pilot)")
    _promote_pilotz(browser, "gates look fine")
    _text_appears(browser, "Zone pilotz has no notifier: promoted, its alerts would warn no one")
    _click(browser, "Confirm")  # no override reason: refused
    _text_appears(browser, "zone 'pilotz' has no notifier: promoted to active")
    assert _stage(env, "pilotz") is Stage.PILOT

    _promote_pilotz(browser, "gates look fine")
    _field(browser, "Override: promote without a notifier").send_keys(  # type: ignore[attr-defined]
        "sirens at the campground this week", Keys.TAB)
    time.sleep(1)  # let Streamlit take the field's value before the click
    _click(browser, "Confirm")
    _text_appears(browser, "Zone pilotz: pilot → active.")
    _shot(browser, "rollout-no-notifier")
    assert _stage(env, "pilotz") is Stage.ACTIVE
    with env.sessions() as s:
        [override] = [e for e in recent(s, subject_prefix="zone:pilotz")
                      if e.action == "zone.notifier_override"]
    assert (override.actor, override.from_value, override.to_value, override.reason) == (
        "ada", "pilot", "active", "sirens at the campground this week")
