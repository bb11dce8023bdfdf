"""The console in a real browser (Debian's chromium, headless, driven by Selenium) against a real
``finops serve --demo --demo-traffic``, as a newcomer would use it: sign in, read the charts, make a key, use it
with the official SDK, watch its spend, revoke it, then look as a key holder, and sign out.

Screenshots of every page land in a folder under pytest's temporary directory (its path is printed); with
``FINOPS_SCREENSHOTS_DIR=docs/screenshots`` they also replace the README's.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from finops.api.ui.render import usd
from finops.demo_traffic import DEMO_KEYS
from tests.support.demo import finops_process
from tests.support.governance import expected_price

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
MODEL = "claude-3-haiku-20240307"

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="needs Debian's chromium and chromium-driver (.ci/run installs them)",
)


class Browser:
    def __init__(self, driver: WebDriver, base: str, shots: Path) -> None:
        self.driver = driver
        self.base = base
        self.shots = shots
        self.console_errors: list[str] = []

    def open(self, path: str) -> None:
        self.driver.get(f"{self.base}/ui{path}")
        self.collect_log()

    def wait(self, condition: Any, timeout: float = 20) -> Any:
        waiting = WebDriverWait(
            self.driver, timeout, poll_frequency=0.2, ignored_exceptions=(StaleElementReferenceException,)
        )
        return waiting.until(condition)

    def find(self, css: str) -> Any:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list[Any]:
        return list(self.driver.find_elements(By.CSS_SELECTOR, css))

    def path(self) -> str:
        return self.driver.current_url.removeprefix(self.base)

    def shoot(self, name: str) -> None:
        self.driver.save_screenshot(str(self.shots / f"{name}.png"))

    def collect_log(self) -> None:
        """Keep what the page's console says: a refused script, style or connection shows up here."""
        for entry in self.driver.get_log("browser"):
            if entry["level"] == "SEVERE" or "Content Security Policy" in entry["message"]:
                self.console_errors.append(entry["message"])

    def sign_in(self, key: str) -> None:
        self.open("/login")
        self.find("#key").send_keys(key)
        self.find("#sign-in").click()
        self.wait(lambda driver: driver.current_url.endswith("/ui/overview"))
        self.collect_log()

    def sign_out(self) -> None:
        self.find("#logout").click()
        self.wait(lambda driver: driver.current_url.endswith("/ui/login"))

    def chart(self, canvas_id: str) -> dict[str, Any]:
        """The chart as Chart.js drew it (its instance on the canvas, not the attribute it was built from)."""
        self.wait(lambda driver: driver.execute_script(f"return !!Chart.getChart('{canvas_id}')"))
        return self.driver.execute_script(
            f"""const chart = Chart.getChart('{canvas_id}');
            return {{labels: chart.data.labels,
                     datasets: chart.data.datasets.map(d => ({{label: d.label, stack: d.stack || null, data: d.data}})),
                     points: chart.getDatasetMeta(0).data.length}};"""
        )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A demo gateway with its traffic sent; yields (base URL, the admin key it printed)."""
    workdir = tmp_path_factory.mktemp("demo")
    with finops_process(["--demo", "--demo-traffic"], workdir) as base:
        log = next(workdir.glob("finops-*.log"))
        deadline = time.monotonic() + 120
        while "Demo traffic done" not in log.read_text() and time.monotonic() < deadline:
            assert "Demo traffic stopped" not in log.read_text(), log.read_text()
            time.sleep(0.5)
        text = log.read_text()
        assert "Demo traffic done" in text, text
        console_line = next(line for line in text.splitlines() if line.startswith("Console on "))
        assert f"{base}/ui" in console_line
        admin_key = re.search(r"admin key: (\S+?)\)", console_line)
        assert admin_key, console_line
        yield base, admin_key.group(1)


@pytest.fixture(scope="module")
def browser(
    demo: tuple[str, str], tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Browser]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tmp_path_factory.mktemp("chromium-profile")
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=1400,1000",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    shots = tmp_path_factory.mktemp("console-screenshots")
    try:
        yield Browser(driver, demo[0], shots)
    finally:
        driver.quit()
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"console screenshots: {shots}")
        target = os.environ.get("FINOPS_SCREENSHOTS_DIR")
        if target:
            Path(target).mkdir(parents=True, exist_ok=True)
            for shot in shots.glob("*.png"):
                shutil.copy(shot, Path(target) / shot.name)


def _sdk(base: str, key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=f"{base}/anthropic", api_key=key, max_retries=0)


def _message(client: anthropic.Anthropic, text: str) -> tuple[str, dict[str, Any]]:
    """Send a message; answers the gateway's request id (what the console's request list shows) and the usage."""
    raw = client.messages.with_raw_response.create(
        model=MODEL, max_tokens=60, messages=[{"role": "user", "content": text}]
    )
    message = raw.parse()
    assert message.content
    return raw.headers["request-id"], message.usage.model_dump()


def _progress(browser: Browser, batch_id: str) -> tuple[str, str]:
    """(value, max) of the batch's progress bar, read in one go (htmx replaces the table every two seconds)."""
    found = browser.driver.execute_script(
        "const bar = document.querySelector(arguments[0]);"
        "return bar ? [bar.getAttribute('value'), bar.getAttribute('max')] : null;",
        f"#batch-{batch_id} progress",
    )
    assert found, f"no progress bar for {batch_id}"
    return found[0], found[1]


def _row_for_key(browser: Browser, name: str) -> Any:
    return next(row for row in browser.find_all("#keys tbody tr") if row.text.startswith(name))


def test_a_newcomer_walks_through_the_console(demo: tuple[str, str], browser: Browser) -> None:
    base, admin_key = demo
    today = datetime.now(UTC).date().isoformat()

    # Signed out, every page leads to the sign-in form.
    browser.open("/overview")
    assert browser.path() == "/ui/login"
    browser.shoot("login")

    # The admin's overview: the demo traffic is drawn, stacked per provider, with today's bar.
    browser.sign_in(admin_key)
    spend = browser.chart("spend-chart")
    assert spend["labels"][-1] == today and spend["points"] == len(spend["labels"])
    providers = [item for item in spend["datasets"] if item["stack"] == "spend"]
    assert {item["label"] for item in providers} == {"anthropic", "openai", "gemini", "bedrock"}
    assert all(item["data"][-1] > 0 for item in providers)
    savings = {item["label"]: item["data"][-1] for item in spend["datasets"] if item["stack"] == "saved"}
    assert savings["batch discount"] > 0 and "cache savings" in savings  # the demo ran batches
    activity = browser.chart("activity-chart")
    assert activity["labels"][-1] == today and activity["datasets"][0]["data"][-1] > 0
    assert {name["name"] for name in DEMO_KEYS} <= {
        row.text.split(" ")[0] for row in browser.find_all("#top-keys tbody tr")
    }
    browser.shoot("overview")

    # Switching the chart to models swaps the fragment in place (htmx) and keeps the address shareable.
    browser.find(".switch a[href*='by=model']").click()
    browser.wait(lambda driver: driver.current_url.endswith("by=model&days=30"))
    by_model = browser.wait(
        lambda driver: (
            (chart := browser.chart("spend-chart"))
            and "gpt-4o-mini" in [item["label"] for item in chart["datasets"]]
            and chart
        )
    )
    assert by_model["labels"][-1] == today

    # A new key: its secret is shown once, on the page that created it.
    browser.open("/keys")
    browser.shoot("keys")
    browser.find("#new-key").click()
    browser.find("#name").send_keys("browser-key")
    browser.find("#budget_usd").send_keys("3")
    browser.find("#save-key").click()
    secret_field = browser.wait(expected_conditions.presence_of_element_located((By.ID, "secret")))
    secret = secret_field.get_attribute("value")
    assert secret.startswith("sk-fo-")
    browser.find("#copy-secret").click()  # the copy button is wired (no inline handler needed)
    browser.driver.execute_script("document.getElementById('secret').value = 'sk-fo-' + '•'.repeat(43)")
    browser.shoot("key-created")
    browser.open("/keys")
    assert secret not in browser.driver.page_source

    # The official SDK with that key; the console shows its request and its spend.
    client = _sdk(base, secret)
    request_id, usage = _message(client, "How much does this cost?")
    price = usd(expected_price(MODEL, usage))  # from genai-prices, independently of the gateway
    browser.open(f"/requests?key={_row_for_key(browser, 'browser-key').get_attribute('data-key-id')}")
    rows = browser.find_all("#requests tbody tr[data-request-id]")
    assert [row.get_attribute("data-request-id") for row in rows] == [request_id]
    assert "browser-key" in rows[0].text and MODEL in rows[0].text
    assert rows[0].find_element(By.CSS_SELECTOR, ".cost").text == price
    browser.open("/keys")
    spend_cell = _row_for_key(browser, "browser-key").find_element(By.CSS_SELECTOR, ".spend").text
    assert spend_cell == f"{price} of $3.00 (monthly, 0 %)"

    # Revoked in the console, the key stops working at once.
    _row_for_key(browser, "browser-key").find_element(By.CSS_SELECTOR, "button.revoke").click()
    browser.wait(expected_conditions.alert_is_present()).accept()
    browser.wait(lambda driver: "revoked" in _row_for_key(browser, "browser-key").text)
    with pytest.raises(anthropic.AuthenticationError) as refused:
        _message(client, "Still there?")
    assert refused.value.status_code == 401

    # Another key holder: traffic of their own, a batch and a file.
    created = httpx.post(
        f"{base}/admin/keys", headers={"x-api-key": admin_key}, json={"name": "holder-key", "budget_usd": 1}
    )
    holder_secret = created.json()["key"]
    holder = _sdk(base, holder_secret)
    own_requests = {_message(holder, "First question")[0], _message(holder, "Second question")[0]}
    batch = holder.messages.batches.create(
        requests=[
            {
                "custom_id": f"q{n}",
                "params": {"model": MODEL, "max_tokens": 40, "messages": [{"role": "user", "content": f"Q{n}"}]},
            }
            for n in range(3)
        ]
    )
    uploaded = holder.beta.files.upload(file=("holder.txt", b"holder's notes", "text/plain"))
    browser.open("/batches")
    # The progress bar follows the batch (htmx polls the table) until every request is done.
    assert _progress(browser, batch.id) != ("3", "3")
    browser.wait(lambda driver: _progress(browser, batch.id) == ("3", "3"), timeout=30)
    assert browser.find(f"#batch-{batch.id}").get_attribute("data-status") == "ended"
    browser.shoot("batches")
    browser.open(f"/batches/{batch.id}")
    assert browser.find("#batch-status").text == "ended" and browser.find_all("#results")
    browser.shoot("batch")
    browser.open("/files")
    browser.shoot("files")
    browser.open("/requests")
    browser.shoot("requests")
    browser.sign_out()
    browser.open("/overview")
    assert browser.path() == "/ui/login"

    # Signed in with that key: only its own spend, requests, batch and file.
    browser.sign_in(holder_secret)
    assert browser.find("#viewer").text == "key: holder-key"
    assert browser.find_all("#top-keys") == []
    assert browser.chart("spend-chart")["labels"][-1] == today
    browser.shoot("key-holder-overview")

    def requests_shown(driver: WebDriver) -> set[str]:
        browser.open("/requests")
        return {row.get_attribute("data-request-id") for row in browser.find_all("#requests tbody tr[data-request-id]")}

    # Its two messages and, once the gateway has billed the batch, the batch's three requests (by custom_id).
    browser.wait(lambda driver: requests_shown(driver) == own_requests | {"q0", "q1", "q2"})
    browser.open("/batches")
    assert [row.get_attribute("data-batch-id") for row in browser.find_all("#batches tbody tr")] == [batch.id]
    assert _progress(browser, batch.id) == ("3", "3")
    browser.shoot("key-holder-batches")
    browser.open("/files")
    assert [row.get_attribute("data-file-id") for row in browser.find_all("#files tbody tr")] == [uploaded.id]
    pages = ""
    for path in ("/overview", "/keys", "/batches", "/files", "/requests", f"/batches/{batch.id}"):
        browser.open(path)
        pages += browser.driver.page_source
    for other in ("browser-key", *(fields["name"] for fields in DEMO_KEYS)):
        assert other not in pages, other
    assert "Upstream IDs" not in pages

    browser.sign_out()
    browser.open("/requests")
    assert browser.path() == "/ui/login"
    browser.collect_log()
    unexpected = [message for message in browser.console_errors if "favicon.ico" not in message]
    assert unexpected == []  # no refused script, style or connection, no failed asset
