"""The Content-Security-Policy breaks no page: Chromium loads the login page, every menu
page, a list with its search filters, the client add form and the Swagger UI without a
single CSP violation or JavaScript error.

The application and the browser are set up as in tests/browser/conftest.py (its
`live_server` and `chromium_executable` fixtures: waitress on a free port, Debian's
Chromium; skipped without Chromium unless CI is set). Playwright runs in a thread of its
own: tests/browser's session-wide Playwright may still be open in the main thread, and the
sync API allows one per thread. A listener installed before any script of a page records
every `securitypolicyviolation` event; the console's "Refused to ..." errors count too.
"""

from __future__ import annotations

import queue
import threading
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import (  # noqa: F401  (fixtures)
    ACTION_TIMEOUT,
    CHROMIUM_ARGS,
    NAVIGATION_TIMEOUT,
    chromium_executable,
    live_server,
    log_in,
)

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
    window.__cspViolations.push(
        `${e.violatedDirective} blocked ${e.blockedURI || "inline"} ` +
        `at ${e.sourceFile || document.location.href}:${e.lineNumber}`);
});
"""


class Watcher:
    """The CSP violations, console errors and uncaught exceptions of one browser page."""

    def __init__(self, page):
        self.page = page
        self.console: list[str] = []
        self.errors: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _on_console(self, message) -> None:
        if message.type == "error":
            self.console.append(message.text)

    def violations(self) -> list[str]:
        recorded = self.page.evaluate("window.__cspViolations || []")
        refused = [m for m in self.console
                   if "Content Security Policy" in m or m.startswith("Refused to")]
        return recorded + refused

    def assert_clean(self, where: str) -> None:
        problems = self.violations()
        assert problems == [], f"CSP violations on {where}: {problems}"
        assert self.errors == [], f"JavaScript errors on {where}: {self.errors}"
        self.console.clear()
        self.errors.clear()


class PlaywrightThread:
    """Chromium driven from a dedicated thread: run(fn) calls fn(browser) there."""

    def __init__(self, executable: str):
        self.tasks: queue.Queue = queue.Queue()
        self.error: BaseException | None = None
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, args=(executable,), daemon=True,
                                       name="playwright-csp-checks")
        self.thread.start()
        if not self.ready.wait(60):
            raise RuntimeError("Chromium did not start in 60 s")
        if self.error is not None:
            raise self.error

    def _serve(self, executable: str) -> None:
        try:
            from playwright.sync_api import sync_playwright

            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=executable,
                                                     args=CHROMIUM_ARGS, headless=True)
                self.ready.set()
                while (task := self.tasks.get()) is not None:
                    fn, result = task
                    try:
                        result.put((True, fn(browser)))
                    except BaseException as error:  # handed to the test's thread
                        result.put((False, error))
                browser.close()
        except BaseException as error:
            self.error = error
            self.ready.set()

    def run(self, fn):
        result: queue.Queue = queue.Queue()
        self.tasks.put((fn, result))
        ok, value = result.get(timeout=300)
        if not ok:
            raise value
        return value

    def close(self) -> None:
        self.tasks.put(None)
        self.thread.join(timeout=30)


@pytest.fixture(scope="module")
def playwright_thread(chromium_executable):  # noqa: F811 (the imported fixture)
    try:
        import playwright  # noqa: F401
    except ImportError:  # pragma: no cover - it is in requirements-dev.txt
        pytest.skip("the playwright package is missing: pip install -r requirements-dev.txt")
    runner = PlaywrightThread(chromium_executable)
    yield runner
    runner.close()


@pytest.fixture
def in_browser(playwright_thread, live_server):  # noqa: F811 (the imported fixture)
    """in_browser(steps): steps(page, watcher) in a fresh browser context, on the thread."""

    def run(steps):
        def task(browser):
            context = browser.new_context(viewport={"width": 1366, "height": 900},
                                          locale="ru-RU", base_url=live_server.url)
            context.set_default_timeout(ACTION_TIMEOUT)
            context.set_default_navigation_timeout(NAVIGATION_TIMEOUT)
            context.add_init_script(RECORD_VIOLATIONS)
            try:
                page = context.new_page()
                return steps(page, Watcher(page))
            finally:
                context.close()

        return playwright_thread.run(task)

    return run


def test_the_pages_send_the_policy(in_browser):
    def steps(page, watcher):
        response = page.goto("/login/")
        policy = response.headers["content-security-policy"]
        assert "'nonce-" in policy and "frame-ancestors 'none'" in policy

    in_browser(steps)


def test_login_page_and_login(in_browser):
    def steps(page, watcher):
        page.goto("/login/")
        watcher.assert_clean("the login page")
        log_in(page)
        page.wait_for_load_state("networkidle")
        watcher.assert_clean("the start page")

    in_browser(steps)


def test_every_menu_page(in_browser):
    def steps(page, watcher):
        log_in(page)
        links = page.eval_on_selector_all(
            "nav a[href], .navbar a[href]", "els => els.map(e => e.getAttribute('href'))")
        paths = sorted({href for href in links
                        if href and href.startswith("/") and not href.startswith("//")
                        and not urlsplit(href).path.startswith(("/logout", "/lang/"))})
        assert len(paths) > 10, paths
        for path in paths:
            response = page.goto(path)
            assert response.status < 500, (path, response.status)
            page.wait_for_load_state("networkidle")
            watcher.assert_clean(path)

    in_browser(steps)


def test_list_with_search_filters(in_browser):
    def open_search(page):
        page.click("a.accordion-toggle[href='#accordion1_href']")  # the Search panel
        toggle = page.locator("#filter_form .dropdown-toggle")
        toggle.wait_for(state="visible")
        return toggle, page.locator("#filter_form .dropdown-menu a.filter")

    def steps(page, watcher):
        log_in(page)
        page.goto("/clientview/list/")
        page.wait_for_load_state("networkidle")
        watcher.assert_clean("the clients list")
        toggle, filters = open_search(page)
        count = filters.count()
        assert count > 0
        for index in range(count):
            toggle.click()
            filters.nth(index).click()
        # One row per chosen filter, each with its operator and value widgets.
        assert page.locator("#filter_form table.filters tr").count() == count
        page.wait_for_timeout(300)
        watcher.assert_clean("the clients list with every search filter")
        # A search by the first filter.
        page.goto("/clientview/list/")
        toggle, filters = open_search(page)
        toggle.click()
        filters.first.click()
        page.locator("#filter_form table.filters tr input[type=text]").first.fill("a")
        with page.expect_navigation():
            page.click("#filter_form button[type=submit]")
        assert "_flt_" in page.url
        page.wait_for_load_state("networkidle")
        watcher.assert_clean("the filtered clients list")

    in_browser(steps)


def test_client_add_form(in_browser):
    def steps(page, watcher):
        log_in(page)
        page.goto("/clientview/add")
        page.wait_for_load_state("networkidle")
        watcher.assert_clean("the client add form")
        # The select2 widgets were built by the scripts.
        assert page.locator(".select2-container").count() > 0
        page.locator(".select2-container").first.click()
        page.wait_for_timeout(300)
        page.keyboard.press("Escape")
        watcher.assert_clean("the client add form after opening a select")

    in_browser(steps)


def test_swagger_ui(in_browser):
    def steps(page, watcher):
        log_in(page)
        page.goto("/swagger/v1")
        # Swagger UI rendered the spec: the operations are on the page.
        page.wait_for_selector("#swagger-ui .opblock", timeout=NAVIGATION_TIMEOUT)
        page.locator("#swagger-ui .opblock-summary").first.click()
        page.wait_for_timeout(300)
        watcher.assert_clean("the Swagger UI")

    in_browser(steps)


def test_swagger_ui_writes_with_the_pages_csrf_token(in_browser):
    """Swagger UI's requests go out with the session cookie: its writes carry the page's
    CSRF token and go through; a script's write without the token is refused."""

    def steps(page, watcher):
        log_in(page)
        page.goto("/swagger/v1")
        page.wait_for_selector("#swagger-ui .opblock", timeout=NAVIGATION_TIMEOUT)
        operation = page.locator("#operations-Security_Roles-post_api_v1_security_roles_")
        operation.locator(".opblock-summary").click()
        operation.locator("button.try-out__btn").click()
        operation.locator("textarea.body-param__text").fill('{"name": "Made in Swagger UI"}')
        operation.locator("button.execute").click()
        status = operation.locator(".live-responses-table tbody .response-col_status").first
        status.wait_for(timeout=NAVIGATION_TIMEOUT)
        assert status.inner_text().strip() == "201"
        refused = page.evaluate("""async () => {
            const response = await fetch("/api/v1/security/roles/", {method: "POST",
                headers: {"Content-Type": "application/json"},
                body: JSON.stringify({name: "Made by a script"})});
            return response.status;
        }""")
        assert refused == 400
        watcher.console.clear()  # the refused request is logged as an error
        watcher.assert_clean("the Swagger UI after a write")

    in_browser(steps)


def test_an_inline_script_without_the_nonce_is_blocked_and_seen(in_browser):
    """The policy is enforced, and this module's watcher does see a violation."""

    def steps(page, watcher):
        page.goto("/login/")
        page.evaluate("""() => {
            const script = document.createElement("script");
            script.textContent = "window.__injected = true;";
            document.head.appendChild(script);
        }""")
        page.wait_for_timeout(200)
        assert page.evaluate("window.__injected === undefined")
        assert any("script-src" in v for v in watcher.violations()), watcher.violations()

    in_browser(steps)
