"""Exports at a million clients: the clients list exported whole to CSV and to XLSX, as the
screen's "Export" writes it, next to raw SQL writing the same rows with Python's csv
module; rows per second and the process's peak memory.

    .venv/bin/python bench/bench_exports.py
    .venv/bin/python bench/bench_exports.py --postgres ""      # SQLite only

The databases are bench_lists.py's (brought to the latest migration; clients generated
while there are fewer than --clients). Each export runs in a process of its own, as the
administrator (the access filter lets every row through), so that its peak memory (the
process's own peak resident set, VmHWM in /proc) is its own:

- Voronka: the export of the clients screen without filters, in the list's order (by
  name), built by the screen's own code (`ClientView.export_of_list` in a request like
  the one the "Export" menu sends) and written by app.services.list_exports, the way a
  background export writes it: every field of the record's page (19 columns with the
  names of the linked records: responsible, industry, size, contact type, source, tags),
  the id, the audit times and the custom fields.
- raw SQL: one SELECT of the same columns with the linked names joined in (tags
  aggregated), in the same order, each row written as it comes with Python's csv module:
  no types, no time zone, no formula guard; the least any export must do.

Stock Flask-AppBuilder has no export (the design's notes); there is nothing of it to time.
The targets: at least 20,000 rows a second, and peak memory under 200 MB.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import bench_lists  # noqa: E402

TARGET_ROWS_PER_SECOND = 20_000
TARGET_PEAK_MB = 200


def parse_args(argv=None):
    parser = bench_lists.both_databases_parser(__doc__.split("\n\n")[0], repeat=1)
    parser.add_argument("--child", nargs=2, metavar=("URL", "WHAT"), help=argparse_hidden())
    return parser.parse_args(argv)


def argparse_hidden():
    import argparse

    return argparse.SUPPRESS


def peak_mb() -> float:
    """The process's own peak resident set. Linux's getrusage() counts the parent's too,
    when it was larger (it keeps the peak of the forked copy across exec): the peak of
    this process's memory itself is /proc's VmHWM."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# The tags of a client, joined by ", ": each database's own aggregate.
TAGS_AGGREGATE = {"sqlite": "group_concat(d.name, ', ')",
                  "postgresql": "string_agg(d.name, ', ')"}
RAW_SQL = """
    SELECT c.id, c.name, c.kind, c.inn, c.kpp, c.ogrn, c.phone, c.email, c.site,
           c.address, c.birthday, i.name, s.name, t.name, src.name,
           u.first_name || ' ' || u.last_name,
           (SELECT {tags} FROM crm_client_tag ct
              JOIN crm_dictionary_item d ON d.id = ct.tag_id WHERE ct.client_id = c.id),
           c.abc_class, c.xyz_class, c.comment, c.created_on, c.changed_on, c.custom
    FROM crm_client c
    LEFT JOIN crm_dictionary_item i ON i.id = c.industry_id
    LEFT JOIN crm_dictionary_item s ON s.id = c.size_id
    LEFT JOIN crm_dictionary_item t ON t.id = c.contact_type_id
    LEFT JOIN crm_dictionary_item src ON src.id = c.source_id
    LEFT JOIN ab_user u ON u.id = c.responsible_id
    ORDER BY c.name_search, c.id"""


def child(url: str, what: str) -> dict:
    """One export in this process: {"rows", "seconds", "mb_before", "mb_peak", "bytes"}."""
    import csv

    from flask import g
    from sqlalchemy import select, text

    from app.database import db
    from app.models import CrmUser
    from app.services import list_exports
    from app.services.actor import acting_as

    bench_lists.quiet_logs()
    app = bench_lists.build_app(url)
    app.config["CRM_SCHEDULER"] = "off"
    target = Path(tempfile.mkstemp(prefix="voronka-bench-export-")[1])
    try:
        with app.app_context():
            admin = db.session.execute(select(CrmUser).where(
                CrmUser.username == bench_lists.BENCH_ADMIN)).scalar_one()
            before = peak_mb()
            started = time.perf_counter()
            if what == "raw":
                dialect = db.engine.dialect.name
                with open(target, "w", newline="", encoding="utf-8") as handle:
                    writer = csv.writer(handle, delimiter=";")
                    connection = db.engine.connect().execution_options(
                        stream_results=True, yield_per=2000)
                    rows = 0
                    for row in connection.execute(text(RAW_SQL.format(
                            tags=TAGS_AGGREGATE[dialect]))):
                        writer.writerow(row)
                        rows += 1
                    connection.close()
            else:
                view = bench_lists.views_of(app)["ClientView"]
                with app.test_request_context(f"/clientview/export/?format={what}"), \
                        acting_as(admin):
                    g.user = admin
                    export = view.export_of_list()
                    rows = list_exports.write(
                        what, export.columns,
                        list_exports.rows(export.model, export.query, export.fields),
                        export.title, "ru", target)
            seconds = time.perf_counter() - started
    finally:
        size = target.stat().st_size
        target.unlink()
    return {"rows": rows, "seconds": seconds, "mb_before": before, "mb_peak": peak_mb(),
            "bytes": size}


def run_child(url: str, what: str) -> dict:
    finished = subprocess.run(
        [sys.executable, __file__, "--child", url, what], check=True, capture_output=True,
        text=True)
    return json.loads(finished.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.child:
        print(json.dumps(child(*args.child)))
        return 0
    bench_lists.quiet_logs()
    misses: list[str] = []
    for name, url in (("SQLite", args.sqlite and f"sqlite:///{args.sqlite}"),
                      ("PostgreSQL", args.postgres)):
        if not url:
            continue
        bench_lists.ensure_database(url)
        app = bench_lists.build_app(url)
        app.config["CRM_SCHEDULER"] = "off"
        bench_lists.prepare_database(app, args.clients, 1)
        print(f"\n{name}: the clients list exported whole", flush=True)
        print(f"  {'':<20} {'rows':>10} {'seconds':>9} {'rows/s':>9} {'file MB':>8} "
              f"{'peak MB':>8} {'export MB':>9}")
        for label, what in (("Voronka, CSV", "csv"), ("Voronka, XLSX", "xlsx"),
                            ("raw SQL + csv", "raw")):
            results = [run_child(url, what) for _ in range(args.repeat)]
            best = min(results, key=lambda r: r["seconds"])
            rate = best["rows"] / best["seconds"]
            grown = best["mb_peak"] - best["mb_before"]
            print(f"  {label:<20} {best['rows']:>10,} {best['seconds']:>9.1f} {rate:>9,.0f} "
                  f"{best['bytes'] / 2**20:>8.1f} {best['mb_peak']:>8.0f} {grown:>9.0f}",
                  flush=True)
            if what != "raw":
                if rate < TARGET_ROWS_PER_SECOND:
                    misses.append(f"{name} {label}: {rate:,.0f} rows/s")
                if best["mb_peak"] > TARGET_PEAK_MB:
                    misses.append(f"{name} {label}: peak {best['mb_peak']:.0f} MB")
        print("  (peak MB: the process's maximum resident set; export MB: what it grew by "
              "while exporting)")
    print()
    print(f"verdict: every export at least {TARGET_ROWS_PER_SECOND:,} rows/s with peak "
          f"memory under {TARGET_PEAK_MB} MB" if not misses
          else "verdict: missed: " + "; ".join(misses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
