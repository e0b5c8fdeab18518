"""Serve the application with run.py's gunicorn set-up, for tests that need its workers.

    python -m tests.serve_gunicorn <database url> <workers>

Builds create_app("config.TestConfig", SQLALCHEMY_DATABASE_URI=<url>) against a database
the migrations already made and serves it as run.py does, on 127.0.0.1 on a free port, with
two threads per worker and idle connections kept open for a minute. Each answer carries
the id of the worker process that made it (X-Worker-Pid), so that a test can talk to two
given workers over two kept-open connections. Prints the port on the first line of
standard output once it listens, and serves until terminated.
"""

from __future__ import annotations

import os
import sys


def with_worker_pid(app):
    def application(environ, start_response):
        def start(status, headers, *args):
            return start_response(status, [*headers, ("X-Worker-Pid", str(os.getpid()))],
                                  *args)

        return app(environ, start)

    return application


def main() -> None:
    url, workers = sys.argv[1], int(sys.argv[2])

    import run
    from app import create_app, db

    app = create_app("config.TestConfig", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        db.engine.dispose()
    options = {**run.gunicorn_options("127.0.0.1", 0, workers, 2),
               "keepalive": 60, "loglevel": "warning"}
    run.serve_with_gunicorn(app, options, on_ready=lambda port: print(port, flush=True),
                            wsgi=with_worker_pid(app))


if __name__ == "__main__":
    main()
