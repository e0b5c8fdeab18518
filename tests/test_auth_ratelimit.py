"""Login throttling on both login routes: the HTML form (/login/) and the JSON login of the
REST API (/api/v1/security/login).

The suite's shared application has generous limits (config.TestConfig); these tests run on
second applications on the same database: one with 10 failures per 5 minutes per user and
per client address, its counters cleared before every test, others with the production
defaults (10 per user, 10 per user and address, 100 per address) or a wider per-user limit.
The counters are kept in the database: two applications, and two worker processes, on one
database count the same attempts. The last test starts two worker processes that share
their counters in Redis instead.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import PASSWORD, another_app
from tests.helpers import flashed, text_of

ROOT = Path(__file__).resolve().parent.parent
HTML_LOGIN = "/login/"
API_LOGIN = "/api/v1/security/login"
LIMITS = {"CRM_LOGIN_LIMIT": "10 per 5 minutes", "CRM_LOGIN_IP_LIMIT": "10 per 5 minutes"}
TOO_MANY = "Too many login attempts. Try again in %(seconds)s s."


@pytest.fixture(scope="module")
def limited_app(app, database_url):
    """A second application on the suite's database, with the production login limits."""
    with another_app(app, database_url, **LIMITS) as application:
        yield application


@pytest.fixture(autouse=True)
def _fresh_counters(limited_app):
    from app.web.throttle import throttle

    throttle(limited_app).reset()
    yield
    throttle(limited_app).reset()


@pytest.fixture
def users(app):
    """Two users of our own (deleted after the test with every user a test makes)."""
    from app.database import db

    names = ["alice", "bob"]
    with app.app_context():
        sm = app.appbuilder.sm
        role = sm.find_role("Manager")
        for name in names:
            assert sm.add_user(username=name, first_name=name.title(), last_name="Test",
                               email=f"{name}@test.local", role=role, password=PASSWORD)
        db.session.remove()
    return names


def html_login(client, username, password, ip="10.0.0.1"):
    return client.post(HTML_LOGIN, data={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": ip})


def api_login(client, username, password, ip="10.0.0.1"):
    return client.post(API_LOGIN, json={"username": username, "password": password,
                                        "provider": "db"},
                       environ_base={"REMOTE_ADDR": ip})


def too_many_message(application, seconds: int) -> str:
    from flask_babel import gettext

    with application.test_request_context("/"):
        return gettext(TOO_MANY, seconds=seconds)


def assert_refused_html(application, response):
    assert response.status_code == 429, response.status_code
    seconds = int(response.headers["Retry-After"])
    assert 0 < seconds <= 300
    assert too_many_message(application, seconds) in flashed(text_of(response))
    # The login form is shown again, to try later.
    assert 'name="login"' in text_of(response)


def assert_refused_api(application, response):
    assert response.status_code == 429, response.status_code
    seconds = int(response.headers["Retry-After"])
    assert 0 < seconds <= 300
    assert response.get_json() == {"message": too_many_message(application, seconds)}


def test_the_message_is_translated(limited_app):
    from flask_babel import force_locale, gettext

    with limited_app.test_request_context("/"):
        with force_locale("en"):
            assert gettext(TOO_MANY, seconds=42) == "Too many login attempts. Try again in 42 s."
        with force_locale("ru"):
            russian = gettext(TOO_MANY, seconds=42)
    assert "42" in russian and russian != "Too many login attempts. Try again in 42 s."


def test_eleventh_bad_attempt_on_the_login_form_answers_429(limited_app, users):
    client = limited_app.test_client()
    for _ in range(10):
        response = html_login(client, "alice", "wrong-Passw0rd")
        assert response.status_code == 302 and HTML_LOGIN in response.headers["Location"]
    assert_refused_html(limited_app, html_login(client, "alice", "wrong-Passw0rd"))
    # Even the right password is not tested any more within the window.
    assert_refused_html(limited_app, html_login(client, "alice", PASSWORD))


def test_eleventh_bad_attempt_on_the_api_answers_429(limited_app, users):
    client = limited_app.test_client()
    for _ in range(10):
        assert api_login(client, "alice", "wrong-Passw0rd").status_code == 401
    assert_refused_api(limited_app, api_login(client, "alice", "wrong-Passw0rd"))
    assert_refused_api(limited_app, api_login(client, "alice", PASSWORD))


def test_both_routes_share_the_counters(limited_app, users):
    client = limited_app.test_client()
    for _ in range(5):
        assert html_login(client, "alice", "wrong-Passw0rd").status_code == 302
        assert api_login(client, "alice", "wrong-Passw0rd").status_code == 401
    assert_refused_api(limited_app, api_login(client, "alice", PASSWORD))
    assert_refused_html(limited_app, html_login(client, "alice", PASSWORD))


def test_per_user_limit_holds_across_addresses(limited_app, users):
    client = limited_app.test_client()
    for n in range(10):
        assert html_login(client, "alice", "wrong-Passw0rd", ip=f"10.1.0.{n}").status_code \
            == 302
    assert_refused_html(limited_app, html_login(client, "alice", PASSWORD, ip="10.1.1.1"))
    assert_refused_api(limited_app, api_login(client, "alice", PASSWORD, ip="10.1.1.2"))


def test_login_and_email_count_as_one_user(limited_app, users):
    client = limited_app.test_client()
    for n in range(5):
        html_login(client, "alice", "wrong-Passw0rd", ip=f"10.2.0.{n}")
        api_login(client, "alice@test.local", "wrong-Passw0rd", ip=f"10.2.1.{n}")
    assert_refused_html(limited_app, html_login(client, "Alice", PASSWORD, ip="10.2.2.1"))


def test_per_address_limit_holds_across_users(limited_app, users):
    client = limited_app.test_client()
    for n in range(10):
        assert api_login(client, f"nobody{n}", "wrong-Passw0rd", ip="10.3.0.1").status_code \
            == 401
    assert_refused_api(limited_app, api_login(client, "bob", PASSWORD, ip="10.3.0.1"))
    # The same user from another address is let in.
    assert api_login(client, "bob", PASSWORD, ip="10.3.0.2").status_code == 200


def test_other_users_failures_from_elsewhere_do_not_block(limited_app, users):
    client = limited_app.test_client()
    for _ in range(12):
        html_login(client, "alice", "wrong-Passw0rd", ip="10.4.0.1")
    response = html_login(limited_app.test_client(), "bob", PASSWORD, ip="10.4.0.2")
    assert response.status_code == 302 and HTML_LOGIN not in response.headers["Location"]
    assert api_login(client, "bob", PASSWORD, ip="10.4.0.3").status_code == 200


def test_successful_logins_are_not_counted(limited_app, users):
    """A whole office behind one address logs in every morning."""
    for _ in range(12):
        response = html_login(limited_app.test_client(), "bob", PASSWORD, ip="10.5.0.1")
        assert response.status_code == 302 and HTML_LOGIN not in response.headers["Location"]
        assert api_login(limited_app.test_client(), "bob", PASSWORD,
                         ip="10.5.0.1").status_code == 200


def test_retry_after_counts_down_from_the_window(limited_app, users):
    client = limited_app.test_client()
    for _ in range(10):
        api_login(client, "alice", "wrong-Passw0rd")
    response = api_login(client, "alice", "wrong-Passw0rd")
    seconds = int(response.headers["Retry-After"])
    assert 290 <= seconds <= 300
    assert re.search(rf"\b{seconds}\b", response.get_json()["message"])


def test_the_limits_are_configuration(limited_app):
    import config
    from app.web.throttle import throttle

    assert config.Config.CRM_LOGIN_LIMIT == "10 per 5 minutes"
    assert config.Config.CRM_LOGIN_PAIR_LIMIT == "10 per 5 minutes"
    assert config.Config.CRM_LOGIN_IP_LIMIT == "100 per 5 minutes"
    assert config.Config.RATELIMIT_STORAGE_URI is None
    limiter = throttle(limited_app)
    assert (limiter.user_limit.amount, limiter.user_limit.get_expiry()) == (10, 300)
    assert (limiter.ip_limit.amount, limiter.ip_limit.get_expiry()) == (10, 300)
    assert limiter.storage_uri == "database"


def test_the_suites_application_is_not_limited_this_tightly(app):
    from app.web.throttle import throttle

    assert throttle(app).user_limit.amount >= 1000


# --- production defaults: per user, per user and address, per address -------------------------

PRODUCTION = {"CRM_LOGIN_LIMIT": "10 per 5 minutes", "CRM_LOGIN_PAIR_LIMIT": "10 per 5 minutes",
              "CRM_LOGIN_IP_LIMIT": "100 per 5 minutes"}


@pytest.fixture
def office_app(app, database_url):
    """The production defaults (config.Config), counters cleared."""
    import config
    from app.web.throttle import throttle

    assert {key: getattr(config.Config, key) for key in PRODUCTION} == PRODUCTION
    with another_app(app, database_url, **PRODUCTION) as application:
        throttle(application).reset()
        yield application
        throttle(application).reset()


def test_one_persons_typos_do_not_lock_out_their_office(office_app, users):
    """Ten failures for alice from the office's one address: alice waits, bob logs in."""
    client = office_app.test_client()
    for _ in range(10):
        assert html_login(client, "alice", "wrong-Passw0rd", ip="10.6.0.1").status_code == 302
    assert_refused_html(office_app, html_login(client, "alice", PASSWORD, ip="10.6.0.1"))
    response = html_login(office_app.test_client(), "bob", PASSWORD, ip="10.6.0.1")
    assert response.status_code == 302 and HTML_LOGIN not in response.headers["Location"]
    assert api_login(client, "bob", PASSWORD, ip="10.6.0.1").status_code == 200


def test_an_address_is_limited_at_a_much_higher_threshold(office_app, users):
    client = office_app.test_client()
    for n in range(100):
        assert api_login(client, f"guess{n // 5}", "wrong-Passw0rd",
                         ip="10.7.0.1").status_code == 401
    assert_refused_api(office_app, api_login(client, "bob", PASSWORD, ip="10.7.0.1"))
    assert api_login(client, "bob", PASSWORD, ip="10.7.0.2").status_code == 200


@pytest.fixture
def pair_app(app, database_url):
    """A wider per-user limit: the pair limit then stops a user at one address first."""
    from app.web.throttle import throttle

    with another_app(app, database_url, CRM_LOGIN_LIMIT="30 per 5 minutes",
                     CRM_LOGIN_PAIR_LIMIT="10 per 5 minutes",
                     CRM_LOGIN_IP_LIMIT="100 per 5 minutes") as application:
        throttle(application).reset()
        yield application
        throttle(application).reset()


def test_the_pair_limit_holds_the_user_at_that_address_only(pair_app, users):
    client = pair_app.test_client()
    for _ in range(10):
        assert api_login(client, "alice", "wrong-Passw0rd", ip="10.8.0.1").status_code == 401
    assert_refused_api(pair_app, api_login(client, "alice", PASSWORD, ip="10.8.0.1"))
    assert_refused_html(pair_app, html_login(client, "alice", PASSWORD, ip="10.8.0.1"))
    # Alice elsewhere, and others at that address, are let in.
    assert api_login(client, "alice", PASSWORD, ip="10.8.0.2").status_code == 200
    assert api_login(client, "bob", PASSWORD, ip="10.8.0.1").status_code == 200
    # Alice's failures from other addresses still add up to the per-user limit.
    for n in range(20):
        api_login(client, "alice", "wrong-Passw0rd", ip=f"10.8.1.{n}")
    assert_refused_api(pair_app, api_login(client, "alice", PASSWORD, ip="10.8.2.1"))


def test_two_applications_on_one_database_count_together(app, database_url, limited_app,
                                                         users):
    """Two application instances, as two worker processes would be: the counters are in
    the database, not in either one's memory."""
    with another_app(app, database_url, **LIMITS) as second:
        for _ in range(5):
            assert api_login(limited_app.test_client(), "alice",
                             "wrong-Passw0rd").status_code == 401
            assert html_login(second.test_client(), "alice",
                              "wrong-Passw0rd").status_code == 302
        assert_refused_api(second, api_login(second.test_client(), "alice", PASSWORD))
        assert_refused_html(limited_app, html_login(limited_app.test_client(), "alice",
                                                    PASSWORD))


def test_the_counters_are_rows_that_expire(app, limited_app, users, dbx):
    from app.models import LoginFailure

    client = limited_app.test_client()
    for _ in range(3):
        api_login(client, "alice", "wrong-Passw0rd")
    assert dbx.count(LoginFailure) == 3
    # Rows older than the longest window go when the next failure comes.
    from datetime import timedelta

    from sqlalchemy import update

    with dbx.session() as s:
        s.execute(update(LoginFailure).values(failed_at=LoginFailure.failed_at
                                              - timedelta(minutes=6)))
        s.commit()
    api_login(client, "alice", "wrong-Passw0rd")
    assert dbx.count(LoginFailure) == 1
    # Logins and e-mails are not stored, only their hashes.
    with dbx.session() as s:
        keys = [row.user_key for row in s.query(LoginFailure)]
    assert all(key and "alice" not in key for key in keys)


def test_an_unreachable_limiter_storage_lets_logins_through(app, database_url, users):
    """Redis down: logins work (and are not counted) rather than nobody getting in."""
    from app import create_app, db

    application = create_app("config.TestConfig", SQLALCHEMY_DATABASE_URI=database_url,
                             RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0", **LIMITS)
    try:
        client = application.test_client()
        for _ in range(11):
            assert html_login(client, "alice", "wrong-Passw0rd").status_code == 302
        response = html_login(client, "alice", PASSWORD)
        assert response.status_code == 302 and HTML_LOGIN not in response.headers["Location"]
        assert api_login(application.test_client(), "alice", PASSWORD).status_code == 200
    finally:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


# --- two worker processes sharing their counters in Redis ------------------------------------

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

LAUNCHER = """
import json, logging, os, sys
sys.path.insert(0, os.getcwd())
import waitress
from app import create_app
overrides = json.loads(os.environ["CRM_TEST_WORKER_CONFIG"])
app = create_app("config.TestConfig", **overrides)
logging.getLogger("waitress.queue").setLevel(logging.ERROR)
waitress.serve(app, host="127.0.0.1", port=int(sys.argv[1]), threads=2, ident="worker")
"""


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _redis_or_skip():
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as error:
        message = f"Redis is not reachable at {REDIS_URL} ({error}): the two-process test needs it"
        if _in_ci():
            pytest.fail(f"{message} (CI is set, so this is a failure, not a skip)",
                        pytrace=False)
        pytest.skip(message)
    return client


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _flush(client, prefix: str) -> None:
    keys = list(client.scan_iter(f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


def _wait_until_serving(process, url: str, timeout: float = 60) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the worker exited with {process.returncode}: "
                                 f"{process.stderr.read().decode(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/login/", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise AssertionError(f"the worker at {url} did not start in {timeout} s")


def _post_json(url: str, payload: dict) -> tuple[int, dict, dict]:
    import json
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"},
                                     method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"{}")


def _post_form(url: str, data: dict) -> int:
    import urllib.error
    import urllib.parse
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, data=urllib.parse.urlencode(data).encode(),
                                     method="POST")
    try:
        with opener.open(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@contextmanager
def _workers(database_url: str, **overrides):
    """Two waitress processes on the suite's database, with these settings."""
    import json

    env = {**os.environ, "CRM_TEST_WORKER_CONFIG": json.dumps(
        {"SQLALCHEMY_DATABASE_URI": database_url, **LIMITS, **overrides})}
    processes, urls = [], []
    try:
        for _ in range(2):
            port = _free_port()
            processes.append(subprocess.Popen([sys.executable, "-c", LAUNCHER, str(port)],
                                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                              stderr=subprocess.PIPE))
            urls.append(f"http://127.0.0.1:{port}")
        for process, url in zip(processes, urls, strict=True):
            _wait_until_serving(process, url)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def two_workers(database_url, users):
    """Two worker processes sharing one Redis key prefix."""
    redis_client = _redis_or_skip()
    prefix = f"voronka-test-{uuid.uuid4().hex}"
    _flush(redis_client, prefix)
    try:
        with _workers(database_url, RATELIMIT_STORAGE_URI=REDIS_URL,
                      CRM_LOGIN_LIMIT_KEY_PREFIX=prefix) as urls:
            yield urls, redis_client, prefix
    finally:
        _flush(redis_client, prefix)


def test_two_workers_share_the_counters_in_the_database(database_url, limited_app, users):
    """No Redis: the counters in the application's database are shared all the same."""
    with _workers(database_url) as (first, second):
        for _ in range(5):
            status, _headers, _body = _post_json(first + API_LOGIN, {
                "username": "alice", "password": "wrong-Passw0rd", "provider": "db"})
            assert status == 401
        for _ in range(5):
            assert _post_form(second + HTML_LOGIN,
                              {"username": "alice", "password": "wrong-Passw0rd"}) == 302
        status, headers, body = _post_json(second + API_LOGIN, {
            "username": "alice", "password": PASSWORD, "provider": "db"})
        assert status == 429, body
        assert int(headers["Retry-After"]) > 0 and "message" in body
        assert _post_form(first + HTML_LOGIN, {"username": "alice", "password": PASSWORD}) \
            == 429


def test_two_workers_share_the_counters_in_redis(two_workers):
    (first, second), redis_client, prefix = two_workers
    for _ in range(5):
        status, _headers, _body = _post_json(first + API_LOGIN, {
            "username": "alice", "password": "wrong-Passw0rd", "provider": "db"})
        assert status == 401
    for _ in range(5):
        assert _post_form(second + HTML_LOGIN,
                          {"username": "alice", "password": "wrong-Passw0rd"}) == 302
    # The 11th attempt, on the second worker: refused although it saw only 5.
    status, headers, body = _post_json(second + API_LOGIN, {
        "username": "alice", "password": PASSWORD, "provider": "db"})
    assert status == 429, body
    assert int(headers["Retry-After"]) > 0 and "message" in body
    assert _post_form(first + HTML_LOGIN, {"username": "alice", "password": PASSWORD}) == 429
    # The counters are in Redis under this run's prefix only.
    assert list(redis_client.scan_iter(f"{prefix}:*"))
    # Both workers saw every attempt come from 127.0.0.1: that address is used up as well.
    status, _headers, _body = _post_json(first + API_LOGIN, {
        "username": "bob", "password": PASSWORD, "provider": "db"})
    assert status == 429
