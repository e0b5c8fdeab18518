"""Fuzz the REST API against its own OpenAPI spec with schemathesis.

Builds a scratch SQLite database (migrations, `flask crm init` with a known administrator
password and the demo company), serves the application on a free local port, logs in
through the API for a bearer token and runs schemathesis over every operation of
/api/v1/_openapi with two checks:

- not_a_server_error: no answer is a 5xx;
- response_schema_conformance: every answer's body is what the spec says it is.

Exit status: 0 when schemathesis found nothing, non-zero otherwise (CI fails on it).

    .venv/bin/python scripts/api_fuzz.py                   # about 5 minutes on 2 cores
    .venv/bin/python scripts/api_fuzz.py --max-examples 5  # a quick look
    .venv/bin/python scripts/api_fuzz.py --database-url postgresql://postgres@127.0.0.1/x

Options after `--` go to `schemathesis run` as they are (e.g. `-- --include-path-regex
client`). The server's log is written to the scratch directory, whose path is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ADMIN_USER = "admin"
ADMIN_PASSWORD = "Fuzz-Admin-Pass-1"

# Every operation of the spec is fuzzed; none is left out. The security API's writes
# (PUT and DELETE of users, roles, groups, permissions and resources) can take the
# fuzzer's own rights away: a random `active: false` or password for the administrator, the
# Admin role renamed or emptied of its users, a resource deleted. They run in a second pass
# after everything else, so that whatever they break cannot hide the rest behind 401/403.
LAST_PASS = r"^(PUT|DELETE) /api/v1/security/"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(command: list[str], env: dict[str, str]) -> None:
    print("$", " ".join(command), flush=True)
    subprocess.run(command, env=env, cwd=ROOT, check=True)


def wait_until_serving(url: str, server: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"The server stopped with status {server.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.3)
    sys.exit(f"The server did not answer on {url} within {seconds:.0f} s")


def bearer_token(base_url: str) -> str:
    body = json.dumps({"username": ADMIN_USER, "password": ADMIN_PASSWORD,
                       "provider": "db", "refresh": False}).encode()
    request = urllib.request.Request(f"{base_url}/api/v1/security/login", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["access_token"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-examples", type=int, default=25,
                        help="test cases per operation and phase (default: 25)")
    parser.add_argument("--seed", type=int, default=1, help="schemathesis' random seed")
    parser.add_argument("--database-url",
                        help="an empty database to use instead of a scratch SQLite file")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    parser.add_argument("extra", nargs="*", help="more options for `schemathesis run`")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="voronka-fuzz-"))
    print(f"Scratch directory: {scratch}", flush=True)
    env = {
        **os.environ,
        "FLASK_APP": "app:create_app",
        "CRM_INSTANCE_DIR": str(scratch),
        "DATABASE_URL": args.database_url or f"sqlite:///{scratch / 'fuzz.db'}",
        "SECRET_KEY": "fuzz-secret-key-not-for-production",
        "CRM_ADMIN_USER": ADMIN_USER,
        "CRM_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "CRM_DEMO": "1",
        # The fuzzer logs in with wrong passwords on purpose; its own login must still pass.
        "CRM_LOGIN_LIMIT": "100000 per minute",
        "CRM_LOGIN_IP_LIMIT": "100000 per minute",
    }
    env.pop("CRM_ENV", None)
    run([str(BIN / "flask"), "db", "upgrade"], env)
    run([str(BIN / "flask"), "crm", "init"], env)

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = scratch / "server.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [str(BIN / "waitress-serve"), "--host=127.0.0.1", f"--port={port}",
             "--threads=4", "--call", "app:create_app"],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_serving(f"{base_url}/login/", server)
        token = bearer_token(base_url)
        command = [
            str(BIN / "schemathesis"), "run", f"{base_url}/api/v1/_openapi",
            "--header", f"Authorization: Bearer {token}",
            "--checks", "not_a_server_error,response_schema_conformance",
            "--max-examples", str(args.max_examples),
            "--seed", str(args.seed),
            # One worker: CPython 3.11.7's parser can fail in threads (hypothesis
            # describes its strategies with `ast.parse`), an error of the tool, not the API.
            "--workers", "1",
            "--generation-database", "none",
            "--no-color",
            *args.extra,
        ]
        status = 0
        for title, selection in (("everything but the security API's writes",
                                  ["--exclude-name-regex", LAST_PASS]),
                                 ("the security API's writes", ["--include-name-regex",
                                                                LAST_PASS])):
            print(f"== schemathesis: {title}", flush=True)
            print("$", " ".join(c if "Bearer" not in c else "'Authorization: Bearer …'"
                                for c in command + selection), flush=True)
            status = subprocess.run(command + selection, cwd=ROOT).returncode or status
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    print(f"Server log: {log_path}", flush=True)
    if status == 0 and not args.keep:
        shutil.rmtree(scratch, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
