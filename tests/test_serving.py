"""Serving many users: run.py's gunicorn workers on one port, SQLite shared by processes,
a development secret key that every process agrees on.

The workers' test talks to two given gunicorn workers over kept-open connections (the
helper server tags each answer with its worker's process id): a rights change made
through one worker applies on the very next request to the other.
"""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
from sqlalchemy import select

import run
from app.models import Client
from app.services.access import ALL, OWN
from tests.access_rules import build_company
from tests.conftest import PASSWORD
from tests.test_access_workers import matrix_form

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 60


def start(command: list[str], env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT),
                                                     **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def read_until(process: subprocess.Popen, pattern: str) -> tuple[re.Match | None, str]:
    """Read the process's output until a line matches `pattern` (or it ends or times out)."""
    seen: list[str] = []
    found: list[re.Match] = []

    def read():
        for line in process.stdout:
            seen.append(line)
            match = re.search(pattern, line)
            if match:
                found.append(match)
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(START_TIMEOUT)
    return (found[0] if found else None), "".join(seen)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:  # pragma: no cover - gunicorn stops on SIGTERM
            process.kill()
            process.wait(10)


def children(pid: int) -> set[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return {int(child) for child in path.read_text().split()} if path.exists() else set()


class Connection:
    """One kept-open HTTP connection with its own cookies: it stays with one worker."""

    def __init__(self, port: int):
        self.http = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        self.cookies: dict[str, str] = {}
        self.worker: str | None = None

    def request(self, path: str, data: dict | None = None,
                headers: dict | None = None) -> tuple[int, str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
                   **(headers or {})}
        body = None
        if data is not None:
            body = urllib.parse.urlencode(data, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.http.request("POST" if data is not None else "GET", path, body, headers)
        response = self.http.getresponse()
        text = response.read().decode(errors="replace")
        self.set_cookies = response.headers.get_all("Set-Cookie") or []
        for cookie in self.set_cookies:
            name, value = cookie.split(";", 1)[0].split("=", 1)
            self.cookies[name.strip()] = value
        worker = response.getheader("X-Worker-Pid")
        assert self.worker in (None, worker), "a kept-open connection changed worker"
        self.worker = worker
        return response.status, text

    def login(self, username: str) -> "Connection":
        status, _ = self.request("/login/", {"username": username, "password": PASSWORD})
        assert status == 302, f"login of {username} failed ({status})"
        return self

    def close(self) -> None:
        self.http.close()


def connections_to_two_workers(port: int) -> tuple[Connection, Connection]:
    """Two kept-open connections that two different workers answer."""
    first = Connection(port)
    first.request("/login/")
    for _ in range(60):
        other = Connection(port)
        other.request("/login/")
        if other.worker != first.worker:
            return first, other
        other.close()
    raise AssertionError("every connection went to the same worker")


@pytest.fixture
def gunicorn_workers(app, database_url):
    process = start([sys.executable, "-m", "tests.serve_gunicorn", database_url, "2"])
    try:
        match, output = read_until(process, r"^(\d+)$")
        assert match, f"gunicorn did not start:\n{output}"
        yield int(match.group(1))
    finally:
        stop(process)


def listed_clients(connection: Connection) -> set[int]:
    status, page = connection.request("/clientview/list/?psize_ClientView=100")
    assert status == 200, status
    return {int(pk) for pk in re.findall(r"/clientview/show/(\d+)", page)}


def test_a_rights_change_made_on_one_gunicorn_worker_applies_on_the_next_request_of_another(
        app, dbx, gunicorn_workers):
    company = build_company(dbx)
    own = set(company.of_owner("manager", Client))
    everyone = {pk for login in company.owned for pk in company.of_owner(login, Client)}
    with app.app_context():
        role_id = app.appbuilder.sm.find_role("Manager").id

    manager, admin = connections_to_two_workers(gunicorn_workers)
    try:
        manager.login("manager")
        admin.login("admin")
        assert manager.worker != admin.worker
        assert listed_clients(manager) == own

        status, _ = admin.request(f"/rights/{role_id}", matrix_form("Manager", client_read=ALL))
        assert status == 302
        assert listed_clients(manager) == everyone

        status, _ = admin.request(f"/rights/{role_id}", matrix_form("Manager", client_read=OWN))
        assert status == 302
        assert listed_clients(manager) == own
    finally:
        manager.close()
        admin.close()


# --- run.py ------------------------------------------------------------------------------------


def run_py(database_url: str, **env: str) -> subprocess.Popen:
    return start([sys.executable, "run.py"],
                 {"DATABASE_URL": database_url, "SECRET_KEY": "test-serving", "PORT": "0",
                  "CRM_THREADS": "2", "CRM_SCHEDULER": "off", **env})


def test_with_several_workers_exactly_one_runs_the_scheduled_jobs(app, dbx, database_url,
                                                                 tmp_path):
    import json

    from app.jobs import JOBS
    from app.models import JobRun

    schedules = {job.id: "off" for job in JOBS}
    schedules["reminders_overdue"] = "every 1s"
    process = run_py(database_url, CRM_WORKERS="2", CRM_SCHEDULER="embedded",
                     CRM_INSTANCE_DIR=str(tmp_path), CRM_JOB_SCHEDULES=json.dumps(schedules))
    try:
        match, output = read_until(process, r"serving on http://127\.0\.0\.1:(\d+)/")
        assert match, output
        deadline = time.monotonic() + 30
        while dbx.count(JobRun) < 6 and time.monotonic() < deadline:
            time.sleep(0.5)
        workers = children(process.pid) if Path("/proc").exists() else None
    finally:
        stop(process)
    runs = dbx.all(select(JobRun))
    assert len(runs) >= 6, output
    runners = {run.runner for run in runs}
    assert len(runners) == 1, runners               # one worker of the two runs them
    if workers is not None:
        assert int(runners.pop().rsplit(":", 1)[1]) in workers


def test_run_py_serves_on_one_port_with_the_workers_asked_for(app, database_url):
    process = run_py(database_url, CRM_WORKERS="2")
    try:
        match, output = read_until(process, r"serving on http://127\.0\.0\.1:(\d+)/ with "
                                            r"gunicorn: 2 worker processes of 2 threads")
        assert match, output
        connection = Connection(int(match.group(1)))
        status, page = connection.request("/login/")
        connection.close()
        assert status == 200 and "password" in page.lower()
        next_line, _ = read_until(process, r"Log in as 'admin'")
        assert next_line
        if Path("/proc").exists():
            deadline = time.monotonic() + 20
            while len(children(process.pid)) < 2 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert len(children(process.pid)) == 2
    finally:
        stop(process)


def test_run_py_falls_back_to_waitress_without_gunicorn(app, database_url):
    """Where gunicorn cannot be imported (Windows), one waitress process serves."""
    without_gunicorn = ("import runpy, sys; sys.modules['gunicorn'] = None; "
                        "runpy.run_path('run.py', run_name='__main__')")
    process = start([sys.executable, "-c", without_gunicorn],
                    {"DATABASE_URL": database_url, "SECRET_KEY": "test-serving",
                     "PORT": "0", "CRM_THREADS": "2"})
    try:
        match, output = read_until(process, r"serving on http://127\.0\.0\.1:(\d+)/ with "
                                            r"waitress: one process of 2 threads")
        assert match, output
        connection = Connection(int(match.group(1)))
        status, _ = connection.request("/login/")
        connection.close()
        assert status == 200
    finally:
        stop(process)


def test_run_py_refuses_a_database_without_the_schema(tmp_path):
    process = run_py(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        output, _ = process.communicate(timeout=START_TIMEOUT)
    finally:
        stop(process)
    assert process.returncode != 0
    assert "no schema yet" in output and "flask db upgrade" in output


@pytest.mark.parametrize("cores,expected", [(1, 1), (2, 2), (4, 4), (16, 4)])
def test_workers_default_to_the_cores_at_most_four(app, monkeypatch, cores, expected):
    monkeypatch.delenv("CRM_WORKERS", raising=False)
    monkeypatch.setattr(run, "cores", lambda: cores)
    assert run.settings(app)["workers"] == expected


def test_workers_and_threads_come_from_the_environment(app, monkeypatch):
    monkeypatch.setenv("CRM_WORKERS", "3")
    monkeypatch.setenv("CRM_THREADS", "5")
    monkeypatch.setenv("HOST", "0.0.0.0")
    monkeypatch.setenv("PORT", "9000")
    assert run.settings(app) == {"host": "0.0.0.0", "port": 9000, "workers": 3, "threads": 5}


@pytest.mark.parametrize("value", ["0", "-2", "many"])
def test_a_wrong_number_of_workers_is_refused_with_a_message(app, monkeypatch, value):
    monkeypatch.setenv("CRM_WORKERS", value)
    with pytest.raises(SystemExit) as stopped:
        run.settings(app)
    assert str(stopped.value) == f"CRM_WORKERS must be a whole number of at least 1, not {value!r}."


def test_gunicorn_believes_no_forwarded_header_the_application_does_not(gunicorn_workers):
    """CRM_TRUST_PROXY (0 here) decides which proxies are believed: a client on 127.0.0.1
    claiming X-Forwarded-Proto: https does not get a cookie meant for HTTPS only."""
    connection = Connection(gunicorn_workers)
    try:
        status, _ = connection.request("/login/", {"username": "admin", "password": PASSWORD},
                                       headers={"X-Forwarded-Proto": "https"})
        assert status == 302
        session = [c for c in connection.set_cookies if c.startswith("session=")]
        assert session and "secure" not in session[0].lower()
    finally:
        connection.close()


# --- SQLite shared by processes ----------------------------------------------------------------


def sqlite_pragmas(config_object: str, path: Path) -> tuple:
    from sqlalchemy import text

    from app import create_app, db

    application = create_app(config_object, SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}")
    with application.app_context():
        try:
            with db.engine.connect() as connection:
                return tuple(connection.execute(text(f"PRAGMA {name}")).scalar()
                             for name in ("journal_mode", "synchronous", "busy_timeout"))
        finally:
            db.engine.dispose()


def test_every_sqlite_connection_of_the_application_is_set_for_several_processes(tmp_path):
    # WAL, synchronous=NORMAL (1), a writer waits up to 5 s for another's lock.
    assert sqlite_pragmas("config.Config", tmp_path / "served.db") == ("wal", 1, 5000)
    # The test configuration skips even the fsync of WAL checkpoints.
    assert sqlite_pragmas("config.TestConfig", tmp_path / "tests.db") == ("wal", 0, 5000)


# --- the development secret key --------------------------------------------------------------


def test_the_secret_key_made_by_another_process_meanwhile_is_the_one_kept(tmp_path, monkeypatch):
    """Another process writes the key file between this one's look and its write: this
    process must use the other's key, not overwrite it with its own."""
    import secrets

    import config

    key_file = tmp_path / "instance" / "secret_key"
    generate = secrets.token_hex

    def other_process_comes_first(size):
        key_file.write_text("the-other-process-key")
        return generate(size)

    monkeypatch.setattr(config.secrets, "token_hex", other_process_comes_first)
    assert config._kept_secret_key(key_file) == "the-other-process-key"
    assert key_file.read_text() == "the-other-process-key"
    assert [p.name for p in key_file.parent.iterdir()] == ["secret_key"]


def test_processes_starting_at_once_agree_on_the_secret_key(tmp_path):
    instance = tmp_path / "instance"
    barrier = tmp_path / "go"
    script = ("import os, sys, time\n"
              f"while not os.path.exists({str(barrier)!r}): time.sleep(0.005)\n"
              "import config\n"
              "settings = {}\n"
              "config.complete(settings)  # as create_app does\n"
              "print(settings['SECRET_KEY'])\n")
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "CRM_ENV")}
    env.update(CRM_INSTANCE_DIR=str(instance), PYTHONPATH=str(ROOT))
    processes = [subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env,
                                  stdout=subprocess.PIPE, text=True) for _ in range(8)]
    time.sleep(1.5)
    barrier.touch()
    keys = {process.communicate(timeout=60)[0].strip() for process in processes}
    assert len(keys) == 1 and len(keys.pop()) == 64
    assert (instance / "secret_key").stat().st_mode & 0o777 == 0o600
