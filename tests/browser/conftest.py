"""Fixtures for the checkout's browser tests: the built server on a free port with a fresh database, and
headless Chromium at a phone and a desktop size (and in Japanese).

Needs: the built binary (`swift build`, or PAYMENTS_BINARY), Debian's `chromium` and `chromium-driver` (or
CHROME_BIN / CHROMEDRIVER), and the `selenium` and `pytest` Python packages. Anything missing fails the tests
with a message saying what to install; nothing is skipped.
"""

from __future__ import annotations

import atexit
import base64
import ctypes
import errno
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

try:
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    SELENIUM_IMPORT_ERROR = None
except ImportError as error:  # reported by the fixtures, so the tests fail (not skip) with the reason
    SELENIUM_IMPORT_ERROR = error

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "artifacts" / "screenshots"

# How long the server may take to answer /health after it starts (a cold debug binary migrates a new database).
SERVER_START_TIMEOUT = 30
# How long to wait for a concurrent `swift build` that is relinking the binary.
BINARY_BUSY_TIMEOUT = 120
# How long a page may take for one step (a payment is a few local requests; 3-D Secure adds one frame load).
STEP_TIMEOUT = 15

# Phone: an iPhone 14-sized viewport at 2x; desktop: a common laptop window.
SIZES = {
    "phone": {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True},
    "desktop": {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False},
}

_children: list[subprocess.Popen] = []


def _kill_children() -> None:
    for process in _children:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


atexit.register(_kill_children)


def _terminate_as_interrupt(signum, frame):
    # SIGTERM (CI stopping the run) unwinds like Ctrl-C, so fixture teardown stops the server and browsers.
    raise KeyboardInterrupt(f"signal {signum}")


signal.signal(signal.SIGTERM, _terminate_as_interrupt)


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the test process dies, even by SIGKILL (Linux's PR_SET_PDEATHSIG)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except OSError:
        pass


# MARK: - The server


class Server:
    """One `payments serve` process on its own port and temporary database."""

    def __init__(self, workdir: Path, settings: dict[str, str] | None = None):
        binary = os.environ.get("PAYMENTS_BINARY") or str(REPO / ".build" / "debug" / "payments")
        if not os.access(binary, os.X_OK):
            pytest.fail(
                f"The server binary {binary} is missing: build it first with `swift build` at the repository root "
                "(or set PAYMENTS_BINARY).",
                pytrace=False,
            )
        self.binary = binary
        self.workdir = workdir
        self.db = workdir / "payments.sqlite"
        self.log_path = workdir / "server.log"
        self.process: subprocess.Popen | None = None
        self.port = 0
        # PAYMENTS_* settings for this server (all others are cleared)
        self.settings = settings or {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, port: int = 0) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PAYMENTS_")} | self.settings
        # Port 0: the server picks a free port and prints it, so no other process can take it in between.
        command = [self.binary, "serve", "--host", "127.0.0.1", "--port", str(port), "--db", str(self.db)]
        self.port = 0
        with open(self.log_path, "ab") as log:
            self.process = self._spawn(command, env, log)
        _children.append(self.process)
        if not self._wait_healthy():
            self.stop()
            pytest.fail(f"The server did not start. Its output:\n{self.log()}", pytrace=False)

    @staticmethod
    def _spawn(command: list[str], env: dict, log) -> subprocess.Popen:
        # A build running at the same time may be relinking the binary ("Text file busy"): wait for it.
        deadline = time.monotonic() + BINARY_BUSY_TIMEOUT
        while True:
            try:
                return subprocess.Popen(
                    command,
                    cwd=REPO,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    preexec_fn=_die_with_parent,
                )
            except OSError as error:
                if error.errno != errno.ETXTBSY or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def _wait_healthy(self) -> bool:
        """Waits for the "listening on" line, then for /health to answer 200."""
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            if not self.port:
                found = re.search(r"payments listening on http://127\.0\.0\.1:(\d+)", self.log(tail=None))
                if found:
                    self.port = int(found.group(1))
            if self.port:
                try:
                    with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                        if response.status == 200:
                            return True
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    pass
            time.sleep(0.05)
        return False

    def restart(self, settings: dict[str, str]) -> None:
        """Stops the server and starts it again on the same port and database with `settings` added, as an operator
        restarting it with a new configuration while pages are open."""
        port = self.port
        self.stop()
        self.settings = self.settings | settings
        self.start(port=port)
        assert self.port == port, f"restarted on {self.port}, not {port}"

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def log(self, tail: int | None = 4000) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
            return text[-tail:] if tail else text
        except OSError:
            return "(no output)"

    def query(self, sql: str, *args):
        """Rows of a read-only query on the server's database (as an admin would run it)."""
        connection = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=10)
        try:
            return connection.execute(sql, args).fetchall()
        finally:
            connection.close()

    def count(self, sql: str, *args) -> int:
        return self.query(sql, *args)[0][0]


@pytest.fixture
def server(request):
    # A test marked `@pytest.mark.settings(PAYMENTS_X="...")` gets a server with those settings.
    marker = request.node.get_closest_marker("settings")
    with tempfile.TemporaryDirectory(prefix="payments-browser-") as folder:
        instance = Server(Path(folder), settings=marker.kwargs if marker else None)
        try:
            instance.start()
            yield instance
        finally:
            instance.stop()
            # Shown by pytest only when the test failed.
            print(f"--- server output ({instance.url}) ---\n{instance.log()}")


# MARK: - The browser


def _find_executable(env_name: str, names: list[str], fallbacks: list[str]) -> str | None:
    if os.environ.get(env_name):
        path = shutil.which(os.environ[env_name])
        return path if path and os.access(path, os.X_OK) else None
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    for path in fallbacks:
        if os.access(path, os.X_OK):
            return path
    return None


class Browsers:
    """Headless Chromium sessions, made on first use and shared by the tests: one per size and language."""

    def __init__(self):
        self.drivers: dict[tuple[str, str], "webdriver.Chrome"] = {}

    def get(self, size: str, lang: str = "en"):
        key = (size, lang)
        if key not in self.drivers:
            self.drivers[key] = self._start(size, lang)
        return self.drivers[key]

    def _start(self, size: str, lang: str):
        if SELENIUM_IMPORT_ERROR is not None:
            pytest.fail(
                f"The Python package selenium is missing ({SELENIUM_IMPORT_ERROR}): "
                "pip install -r tests/browser/requirements.txt",
                pytrace=False,
            )
        chromium = _find_executable(
            "CHROME_BIN", ["chromium", "chromium-browser", "google-chrome"], ["/usr/lib/chromium/chromium"]
        )
        chromedriver = _find_executable("CHROMEDRIVER", ["chromedriver"], ["/usr/lib/chromium/chromedriver"])
        if not chromium or not chromedriver:
            pytest.fail(
                "Chromium and its driver are needed for the browser tests: "
                "apt-get install chromium chromium-driver (or set CHROME_BIN and CHROMEDRIVER). "
                f"Found chromium={chromium!r}, chromedriver={chromedriver!r}.",
                pytrace=False,
            )
        metrics = SIZES[size]
        options = webdriver.ChromeOptions()
        # Chromium through a small launcher that makes it end with chromedriver (which ends with this process).
        options.binary_location = str(Path(__file__).with_name("chromium_with_parent.py"))
        for argument in [
            "--headless=new",
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--password-store=basic",
            f"--window-size={metrics['width']},{metrics['height']}",
            f"--lang={lang}",
        ]:
            options.add_argument(argument)
        options.add_experimental_option("prefs", {"intl.accept_languages": lang})
        # The performance log carries the DevTools network events: the tests read which requests the page sent.
        options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
        service = Service(
            executable_path=chromedriver,
            env={**os.environ, "BROWSER_TESTS_CHROMIUM": chromium},
            popen_kw={"preexec_fn": _die_with_parent},
        )
        try:
            driver = webdriver.Chrome(service=service, options=options)
        except WebDriverException as error:
            pytest.fail(f"Chromium did not start ({chromium}, {chromedriver}): {error.msg}", pytrace=False)
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
        if metrics["mobile"]:
            driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 5})
        driver.execute_cdp_cmd("Network.enable", {})
        return driver

    def quit(self):
        for driver in self.drivers.values():
            try:
                driver.quit()
            except Exception:  # noqa: BLE001 - a dead browser is already gone
                pass
        self.drivers.clear()


@pytest.fixture(scope="session")
def browsers():
    pool = Browsers()
    try:
        yield pool
    finally:
        pool.quit()


class Checkout:
    """The checkout page in one browser, against one server, with helpers the tests share."""

    def __init__(self, driver, server: Server, name: str):
        self.driver = driver
        self.server = server
        self.name = name

    # Navigation

    def open(self, path: str = "/checkout/") -> "Checkout":
        self.driver.get("about:blank")
        self.network()  # forget earlier pages' requests and console messages
        self.driver.get_log("browser")
        self.driver.get(self.server.url + path)
        self.wait(lambda d: d.find_element(By.ID, "payment-form").get_attribute("data-ready") == "true")
        return self

    def wait(self, condition, timeout: float = STEP_TIMEOUT, message: str = ""):
        return WebDriverWait(self.driver, timeout, poll_frequency=0.05).until(condition, message)

    def find(self, css: str):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def by_id(self, element_id: str):
        return self.driver.find_element(By.ID, element_id)

    # The form

    def fill(self, number="4242 4242 4242 4242", expiry=None, cvc="123", postal="94107"):
        if expiry is None:
            expiry = f"12{(time.gmtime().tm_year + 3) % 100:02d}"
        for element_id, value in [
            ("card-number", number),
            ("card-expiry", expiry),
            ("card-cvc", cvc),
            ("postal-code", postal),
        ]:
            field = self.by_id(element_id)
            field.clear()
            if value:
                field.send_keys(value)

    def wait_success(self) -> str:
        self.wait(lambda d: d.find_element(By.ID, "success").is_displayed(), message="no success message")
        return self.by_id("payment-intent-id").text

    def wait_alert(self) -> str:
        self.wait(lambda d: d.find_element(By.ID, "form-error").text.strip() != "", message="no error shown")
        return self.by_id("form-error").text

    def wait_idle(self):
        self.wait(lambda d: d.find_element(By.ID, "pay").is_enabled(), message="the form stayed disabled")

    # Evidence

    def network(self) -> list[dict]:
        """The DevTools network events since the last call: [{method, params}]."""
        events = []
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"].startswith("Network."):
                events.append(message)
        return events

    @staticmethod
    def requests_to(events: list[dict], path: str, method: str = "POST") -> list[dict]:
        """The requests in `events` to `path` (exact path, any query) with `method`."""
        found = []
        for event in events:
            if event["method"] != "Network.requestWillBeSent":
                continue
            request = event["params"]["request"]
            url = re.sub(r"^https?://[^/]+", "", request["url"]).split("?")[0]
            if url == path and request["method"] == method:
                found.append(event["params"])
        return found

    def shot(self, state: str | None = None, full_page: bool = True) -> Path:
        """Saves a screenshot to artifacts/screenshots/<test>[--<state>].png."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / (f"{self.name}--{state}.png" if state else f"{self.name}.png")
        params = {"format": "png", "captureBeyondViewport": full_page}
        if full_page:
            layout = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
            size = layout.get("cssContentSize") or layout["contentSize"]
            viewport = layout.get("cssLayoutViewport") or layout["layoutViewport"]
            params["clip"] = {
                "x": 0,
                "y": 0,
                "width": max(size["width"], viewport["clientWidth"]),
                "height": max(size["height"], viewport["clientHeight"]),
                "scale": 1,
            }
        data = self.driver.execute_cdp_cmd("Page.captureScreenshot", params)["data"]
        path.write_bytes(base64.b64decode(data))
        return path


def _screenshot_name(node) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", node.name).strip("-")


def _checkout_fixture(request, browsers, server, size: str, lang: str):
    driver = browsers.get(size, lang)
    page = Checkout(driver, server, _screenshot_name(request.node))
    try:
        yield page
    finally:
        # The final state of every test, passed or failed.
        try:
            page.shot()
            # Shown by pytest only when the test failed.
            console = "\n".join(f"{e['level']} {e['message']}" for e in driver.get_log("browser"))
            print(f"--- browser console ---\n{console}")
        except Exception as error:  # noqa: BLE001 - evidence must not hide the test's own result
            print(f"screenshot or console log failed: {error}")


@pytest.fixture(params=["phone", "desktop"])
def checkout(request, browsers, server):
    """The checkout page at a phone size and at a desktop size (the test runs once for each)."""
    yield from _checkout_fixture(request, browsers, server, request.param, "en")


@pytest.fixture
def checkout_phone(request, browsers, server):
    yield from _checkout_fixture(request, browsers, server, "phone", "en")


@pytest.fixture
def checkout_desktop(request, browsers, server):
    yield from _checkout_fixture(request, browsers, server, "desktop", "en")


@pytest.fixture
def checkout_ja(request, browsers, server):
    """The checkout in a browser whose preferred language is Japanese (`--lang=ja`, intl.accept_languages=ja)."""
    yield from _checkout_fixture(request, browsers, server, "phone", "ja")
