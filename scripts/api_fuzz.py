"""Fuzz the REST API against its own OpenAPI spec with schemathesis.

Builds a scratch SQLite database (migrations, `flask crm init` with a known administrator
password and the demo company), serves the application with waitress on a free local
port, logs in through the API for a bearer token and runs schemathesis over every
operation of /api/v1/_openapi with two checks:

- not_a_server_error: no answer is a 5xx;
- response_schema_conformance: every answer's body is what the spec says it is.

Exit status: 0 when schemathesis found nothing, non-zero otherwise (CI fails on it).

    .venv/bin/python scripts/api_fuzz.py                   # a few minutes on 2 cores
    .venv/bin/python scripts/api_fuzz.py --max-examples 3  # a quicker look

Options after `--` go to every `schemathesis run` as they are (e.g. `-- --phases
fuzzing`). The server's log is written to the scratch directory, whose path is printed;
`st replay <id>` needs `--keep` and a server on the same port, so reproduce a finding with
the curl command schemathesis prints instead.
"""

from __future__ import annotations

import argparse
import json
import os
import re
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

# Every operation of the spec is fuzzed; none is left out. These can take the fuzzer's
# own rights away: a random `active: false` or password for the administrator, the Admin
# role renamed, emptied of its users or of its permissions (POST .../permissions replaces
# them), a resource deleted. After that every request answers 401 or 403 and tests nothing.
# So each of them runs last, alone, on a fresh copy of the database and a fresh login.
RIGHTS_AT_STAKE = re.compile(
    r"^(PUT|DELETE) /api/v1/security/|^POST /api/v1/security/roles/\{role_id\}/permissions$")
CHECKS = "not_a_server_error,response_schema_conformance"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(command: list[str], env: dict[str, str]) -> None:
    print("$", " ".join(command), flush=True)
    subprocess.run(command, env=env, cwd=ROOT, check=True)


class Server:
    """The application under waitress, on one port, writing to one log."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.env, self.log_path = env, log_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log_path, "a") as log:
            self.process = subprocess.Popen(
                [str(BIN / "waitress-serve"), "--host=127.0.0.1", f"--port={self.port}",
                 "--threads=4", "--call", "app:create_app"],
                env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"The server stopped with status {self.process.returncode}; "
                         f"see {self.log_path}")
            try:
                urllib.request.urlopen(f"{self.url}/login/", timeout=2).close()
                return
            except urllib.error.HTTPError:
                return  # it answers
            except OSError:
                time.sleep(0.3)
        sys.exit(f"The server did not answer on {self.url} within 60 s")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def token(self) -> str:
        body = json.dumps({"username": ADMIN_USER, "password": ADMIN_PASSWORD,
                           "provider": "db", "refresh": False}).encode()
        request = urllib.request.Request(f"{self.url}/api/v1/security/login", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)["access_token"]

    def spec(self, token: str) -> dict:
        request = urllib.request.Request(f"{self.url}/api/v1/_openapi",
                                         headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.load(response)


def operation_names(spec: dict) -> list[str]:
    return [f"{method.upper()} {path}" for path, operations in spec["paths"].items()
            for method in operations if method in ("get", "put", "post", "delete", "patch")]


def schemathesis(spec_path: Path, server: Server, token: str, selection: list[str],
                 args) -> int:
    command = [
        str(BIN / "schemathesis"), "run", str(spec_path), "--url", server.url,
        "--header", f"Authorization: Bearer {token}",
        "--checks", CHECKS,
        "--max-examples", str(args.max_examples),
        "--seed", str(args.seed),
        # One worker: CPython 3.11.7's parser can fail in threads (hypothesis describes
        # its strategies with `ast.parse`), an error of the tool, not of the API.
        "--workers", "1",
        "--generation-database", "none",
        "--no-color",
        *selection,
        *args.extra,
    ]
    shown = [c if "Bearer" not in c else "'Authorization: Bearer …'" for c in command]
    print("$", " ".join(f"'{c}'" if " " in c and not c.startswith("'") else c
                        for c in shown), flush=True)
    return subprocess.run(command, cwd=ROOT).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-examples", type=int, default=25,
                        help="test cases per operation in the fuzzing phase (default: 25)")
    parser.add_argument("--seed", type=int, default=1, help="schemathesis' random seed")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    parser.add_argument("extra", nargs="*", help="more options for `schemathesis run`")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="voronka-fuzz-"))
    print(f"Scratch directory: {scratch}", flush=True)
    database, pristine = scratch / "fuzz.db", scratch / "pristine.db"
    env = {
        **os.environ,
        "FLASK_APP": "app:create_app",
        "CRM_INSTANCE_DIR": str(scratch),
        "DATABASE_URL": f"sqlite:///{database}",
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
    shutil.copyfile(database, pristine)

    server = Server(env, scratch / "server.log")
    status = 0
    try:
        server.start()
        token = server.token()
        spec = server.spec(token)
        spec_path = scratch / "openapi.json"
        spec_path.write_text(json.dumps(spec))
        last = [name for name in operation_names(spec) if RIGHTS_AT_STAKE.search(name)]
        print(f"== schemathesis: {len(operation_names(spec)) - len(last)} operations",
              flush=True)
        status |= schemathesis(spec_path, server, token,
                               ["--exclude-name-regex", RIGHTS_AT_STAKE.pattern], args)
        for name in last:
            print(f"== schemathesis: {name}, on a fresh copy of the database", flush=True)
            server.stop()
            shutil.copyfile(pristine, database)
            server.start()
            status |= schemathesis(spec_path, server, server.token(),
                                   ["--include-name", name], args)
    finally:
        server.stop()
    print(f"Server log: {server.log_path}", flush=True)
    print("== API fuzzing: " + ("no findings" if status == 0 else "FINDINGS (see above)"),
          flush=True)
    if status == 0 and not args.keep:
        shutil.rmtree(scratch, ignore_errors=True)
    return 1 if status else 0


if __name__ == "__main__":
    sys.exit(main())
