"""Many users at once: `make run`'s server with 1 and with 2 worker processes.

    .venv/bin/python bench/bench_concurrency.py \\
        --database-url sqlite:///$PWD/bench/results/sqlite-1m.db

Starts the application as `make run` serves it (`python run.py`: gunicorn, CRM_WORKERS
worker processes of CRM_THREADS threads, CSRF and full-strength passwords as in
production) on a generated database, once per worker count, and drives it with --users
busy users at once: each a thread with its own kept-open HTTP connection and its own
logged-in session, asking page after page with no pause, in a mix of what people do all
day (MIX: lists, deep pages, searches by the start of a name or an INN, a client's page,
the API). A quarter of the users are administrators, the others a department's manager
(bench_lists.py makes both users; the access filter is on for the manager). Each run is
warmed up for --warmup seconds, then measured for --seconds; requests per second and the
median (p50) and 95th percentile (p95) of the answer times are printed for each worker
count, and the ratio of throughputs. With --repeat N the worker counts take turns N times
and the median run of each is shown.

Contains-searches are left out of the mix: until the search indexes arrive they read the
whole table (bench_lists.py measures them) and would measure the disk, not the server.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_lists  # noqa: E402
from bench_lists import (  # noqa: E402
    BENCH_ADMIN,
    BENCH_MANAGER,
    INN_PREFIX,
    HttpSide,
    api_url,
)

# (weight, what, path or a function of a random client id to a path)
MIX = [
    (20, "list, first page", "/clientview/list/"),
    (10, "list, a page from 2 to 400", lambda pk, rnd: "/clientview/list/?page_ClientView="
                                                       f"{rnd.randint(1, 399)}"),
    (15, "name starts with", lambda pk, rnd: "/clientview/list/?_flt_0_name="
                                             + urllib.parse.quote(rnd.choice(NAME_STARTS))),
    (5, "INN starts with", f"/clientview/list/?_flt_0_inn={INN_PREFIX}"),
    (25, "a client's page", lambda pk, rnd: f"/clientview/show/{pk}"),
    (15, "API list, first page", api_url("client")),
    (10, "API, one client", lambda pk, rnd: f"/api/v1/client/{pk}"),
]
NAME_STARTS = ["ООО «Сиб", "АО «Ура", "ООО «Тех", "ИП Лог", "ООО «Стро", "ООО «Атл"]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=bench_lists.DEFAULT_URL,
                        help="SQLAlchemy URL of a database used for benchmarks only "
                             "(default: %(default)s)")
    parser.add_argument("--clients", type=int, default=1_000_000,
                        help="generate clients until there are at least this many "
                             "(default: %(default)s; 0 = never)")
    parser.add_argument("--users", type=int, default=16, help="users at once (default 16)")
    parser.add_argument("--workers", default="1,2",
                        help="worker counts to compare, e.g. 1,2 (default) or 1,2,4")
    parser.add_argument("--threads", type=int, default=8,
                        help="CRM_THREADS of each worker (default 8)")
    parser.add_argument("--seconds", type=float, default=30, help="measured seconds a run")
    parser.add_argument("--warmup", type=float, default=5, help="seconds before measuring")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of each worker count, taking turns; the median is shown")
    parser.add_argument("--seed", type=int, default=1, help="seed of generated data")
    return parser.parse_args(argv)


class Served:
    """`python run.py` with CRM_WORKERS workers on a free port."""

    def __init__(self, url: str, workers: int, threads: int):
        env = {**os.environ, "DATABASE_URL": url, "CRM_WORKERS": str(workers),
               "CRM_THREADS": str(threads), "PORT": "0", "HOST": "127.0.0.1"}
        self.process = subprocess.Popen([sys.executable, "run.py"], cwd=ROOT, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True)
        self.output: list[str] = []
        ports: list[int] = []
        started = threading.Event()

        def read():
            for line in self.process.stdout:
                self.output.append(line)
                found = re.search(r"serving on http://[^:]+:(\d+)/", line)
                if found and not ports:
                    ports.append(int(found.group(1)))
                    started.set()
            started.set()

        threading.Thread(target=read, daemon=True).start()
        started.wait(120)
        if not ports:
            self.stop()
            raise SystemExit("run.py did not start:\n" + "".join(self.output[-20:]))
        self.port = ports[0]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def log_in(port: int, username: str, password: str) -> HttpSide:
    """A session through the login form, CSRF token included, as a browser does it."""
    side = HttpSide(port)
    status, page = side.fetch("GET", "/login/")
    token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page)
    form = {"username": username, "password": password}
    if token:
        form["csrf_token"] = token.group(1).decode()
    status, _ = side.fetch("POST", "/login/", urllib.parse.urlencode(form))
    if status != 302:
        raise SystemExit(f"Login of {username} failed: HTTP {status}")
    return side


@dataclass
class Run:
    workers: int
    seconds: float
    timings: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        return len(self.timings) / self.seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.timings)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def drive(port: int, users: list[tuple[str, str, list[int]]], args, workers: int) -> Run:
    """`users` (login, password, the client ids they may open) ask at once, with no pause."""
    sessions = [log_in(port, login, password) for login, password, _ids in users]
    weights = [weight for weight, _what, _path in MIX]
    run = Run(workers, args.seconds)
    lock = threading.Lock()
    measuring = threading.Event()
    stopping = threading.Event()

    def user(number: int) -> None:
        rnd = random.Random(number)
        session, ids = sessions[number], users[number][2]
        while not stopping.is_set():
            _weight, what, path = rnd.choices(MIX, weights)[0]
            url = path(rnd.choice(ids), rnd) if callable(path) else path
            started = time.perf_counter()
            try:
                status = session.get(url)
            except OSError as error:
                status = type(error).__name__
            elapsed = (time.perf_counter() - started) * 1000
            if measuring.is_set() and not stopping.is_set():
                with lock:
                    if status == 200:
                        run.timings.append(elapsed)
                    else:
                        key = f"{what}: {status}"
                        run.errors[key] = run.errors.get(key, 0) + 1

    threads = [threading.Thread(target=user, args=(n,), daemon=True) for n in range(len(users))]
    for thread in threads:
        thread.start()
    time.sleep(args.warmup)
    measuring.set()
    time.sleep(args.seconds)
    stopping.set()
    for thread in threads:
        thread.join(120)
    return run


def users_of(app, setup, count: int) -> list[tuple[str, str, list[int]]]:
    """A quarter administrators, the rest the department's manager; each with client ids
    they may open."""
    from sqlalchemy import func, select

    from app.database import db
    from app.models import Client, CrmUser
    from app.services.access import subtree

    with app.app_context():
        top = db.session.execute(select(func.max(Client.id))).scalar() or 1
        rnd = random.Random(1)
        anyone = [rnd.randint(1, top) for _ in range(2000)]
        present = set(db.session.execute(select(Client.id).where(Client.id.in_(anyone)))
                      .scalars())
        anyone = [pk for pk in anyone if pk in present]
        department = []
        if setup.manager_password:
            manager = db.session.execute(select(CrmUser).where(
                CrmUser.username == BENCH_MANAGER)).scalar_one()
            department = list(db.session.execute(
                select(Client.id).join(CrmUser, CrmUser.id == Client.responsible_id)
                .where(CrmUser.department_id.in_(sorted(subtree(manager.department_id))))
                .order_by(Client.id).limit(2000)).scalars())
        db.session.remove()
    admins = count if not department else max(1, count // 4)
    return [(BENCH_ADMIN, setup.admin_password, anyone) if n < admins
            else (BENCH_MANAGER, setup.manager_password, department) for n in range(count)]


def main(argv=None) -> int:
    from config import normalize_database_url

    args = parse_args(argv)
    url = normalize_database_url(args.database_url)
    bench_lists.quiet_logs()
    bench_lists.ensure_database(url)
    app = bench_lists.build_app(url)
    setup = bench_lists.prepare_database(app, args.clients, args.seed)
    users = users_of(app, setup, args.users)
    worker_counts = [int(n) for n in args.workers.split(",")]
    from app.database import db

    with app.app_context():
        dialect = db.engine.dialect.name
        db.engine.dispose()
    print(f"\nVoronka under load: {dialect}, {setup.clients:,} clients; {args.users} busy "
          f"users ({sum(u[0] == BENCH_ADMIN for u in users)} administrators), no pause "
          f"between requests; run.py with CRM_THREADS={args.threads}; {args.seconds:g} s "
          f"measured after {args.warmup:g} s of warm-up, {args.repeat} run(s) each")
    print("Mix: " + ", ".join(f"{what} {weight}%" for weight, what, _path in MIX))
    runs: dict[int, list[Run]] = {n: [] for n in worker_counts}
    for _ in range(args.repeat):
        for workers in worker_counts:
            served = Served(url, workers, args.threads)
            try:
                runs[workers].append(drive(served.port, users, args, workers))
            finally:
                served.stop()
    print("| workers | requests/s |   p50 ms |   p95 ms | requests | errors |")
    print("|---------|------------|----------|----------|----------|--------|")
    chosen = {}
    for workers in worker_counts:
        ordered = sorted(runs[workers], key=lambda run: run.per_second)
        run = chosen[workers] = ordered[len(ordered) // 2]
        print(f"| {workers:>7} | {run.per_second:>10,.1f} | {run.percentile(0.5):>8,.1f} | "
              f"{run.percentile(0.95):>8,.1f} | {len(run.timings):>8,} | "
              f"{sum(run.errors.values()):>6,} |")
        for key, number in sorted(run.errors.items()):
            print(f"    {workers} worker(s), {key}: {number}")
    base = chosen[worker_counts[0]]
    for workers in worker_counts[1:]:
        gain = chosen[workers].per_second / base.per_second if base.per_second else 0
        print(f"Throughput with {workers} workers: {gain:.2f}× that with "
              f"{worker_counts[0]} (target for 2 workers: ≥ 1.7×)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
