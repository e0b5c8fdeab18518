"""The client search at a million clients, next to stock Flask-AppBuilder's filters on the
same data, on SQLite and PostgreSQL in one run.

    .venv/bin/python bench/bench_search.py
    .venv/bin/python bench/bench_search.py --postgres ""      # SQLite only

The databases are bench_lists.py's (brought to the latest migration; clients generated
while there are fewer than --clients), with its stock FAB resource over the same Client
model. The terms are taken from one generated client: its INN, its phone as people type it
(`8 495 …`) and without the area code (`660-18-12`), its e-mail and its domain, and a word
of its name that is not the first. Each request is warmed up once and timed --repeat times
in this process with Flask's test client, as the administrator (who sees every client):
server time, median in ms. Stock FAB answers the same question with its own filter: equal
for the INN, contains for the rest (its only way to find a word inside a name, a number
without its code, or a domain).
"""

from __future__ import annotations

import statistics
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import bench_lists  # noqa: E402

TARGETS = {"INN": 20, "phone": 20, "local number": 20, "e-mail": 20, "domain": 20,
           "word of the name": 50}


def parse_args(argv=None):
    parser = bench_lists.both_databases_parser(__doc__.split("\n\n")[0], repeat=7)
    return parser.parse_args(argv)


def sample_terms(app) -> dict[str, tuple[str, str, str]]:
    """{case: (typed term, stock FAB column, stock FAB operator)} from one client."""
    from sqlalchemy import func, select

    from app.database import db
    from app.models import Client

    with app.app_context():
        client = db.session.execute(
            select(Client).where(Client.kind == "company", Client.inn.isnot(None),
                                 Client.phone.isnot(None), Client.email.isnot(None),
                                 func.length(Client.name) > 20)
            .order_by(Client.id).offset(777).limit(1)).scalar_one()
        digits = client.phone_normalized[2:]
        local = f"{digits[-7:-4]}-{digits[-4:-2]}-{digits[-2:]}"
        words = [w for w in client.name_search.split() if len(w) > 3]
        terms = {
            "INN": (client.inn, "inn", "eq"),
            "phone": (f"8 {digits[:3]} {digits[3:6]} {digits[6:8]} {digits[8:]}", "phone",
                      "ct"),
            "local number": (local, "phone", "ct"),
            "e-mail": (client.email, "email", "ct"),
            "domain": (client.email.split("@")[1], "email", "ct"),
            "word of the name": (words[-1], "name", "ct"),
        }
        db.session.remove()
        return terms


def timed(client, url: str, repeat: int) -> tuple[float, int]:
    answer = client.get(url)
    if answer.status_code != 200:
        return float("nan"), answer.status_code
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        answer = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
    body = answer.get_json() or {}
    return statistics.median(times), len(body.get("result", []))


def stock_url(column: str, operator: str, value: str) -> str:
    query = f"(filters:!((col:{column},opr:{operator},value:{bench_lists.rison_string(value)}))," \
            f"page:0,page_size:20)"
    return f"/api/v1/stockclient/?q={urllib.parse.quote(query, safe='(),:!')}"


def bench(url: str, args) -> list[tuple]:
    bench_lists.ensure_database(url)
    app = bench_lists.build_app(url)
    setup = bench_lists.prepare_database(app, args.clients, seed=1)
    client = app.test_client()
    answer = client.post("/login/", data={"username": bench_lists.BENCH_ADMIN,
                                          "password": setup.admin_password})
    assert answer.status_code == 302, answer.status_code
    rows = []
    for case, (term, column, operator) in sample_terms(app).items():
        ours, found = timed(client, "/api/v1/client/search?q=" + urllib.parse.quote(term),
                            args.repeat)
        stock, stock_found = timed(client, stock_url(column, operator, term), args.repeat)
        rows.append((case, term, ours, found, stock, stock_found, setup.clients))
    with app.app_context():
        from app.database import db
        db.engine.dispose()
    return rows


def main(argv=None) -> int:
    args = parse_args(argv)
    bench_lists.quiet_logs()
    print(f"Client search, median of {args.repeat}, ms of server time (found: rows answered)\n")
    print(f"{'database':<11} {'clients':>9} {'search by':<17} {'typed':<28} {'Voronka':>8} "
          f"{'found':>5} {'stock FAB':>9} {'found':>5}  target")
    verdicts = []
    for name, url in (("SQLite", f"sqlite:///{args.sqlite}" if args.sqlite else ""),
                      ("PostgreSQL", args.postgres)):
        if not url:
            continue
        for case, term, ours, found, stock, stock_found, clients in bench(url, args):
            ok = ours < TARGETS[case]
            verdicts.append(ok)
            print(f"{name:<11} {clients:>9,} {case:<17} {term[:28]:<28} {ours:>8.1f} {found:>5} "
                  f"{stock:>9.1f} {stock_found:>5}  < {TARGETS[case]} {'ok' if ok else 'MISSED'}")
    print("\nverdict:", "every search within its target" if all(verdicts)
          else "some searches missed their target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
