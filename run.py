"""Serve Voronka CRM on one port with several worker processes.

    python run.py        (`make run` migrates, creates the administrator, then runs this)

gunicorn serves HOST:PORT (default 127.0.0.1:8080) with CRM_WORKERS processes (default: the
machine's cores, at most 4) of CRM_THREADS threads each (default 8). The application is
built and the schema checked once, in gunicorn's first process, before the workers are
forked from it: workers starting together, or one restarted after a crash, do no start-up
work of their own and cannot race on it. Each worker opens its own database connections.

With CRM_SCHEDULER=embedded (the default) exactly one of the workers also runs the
scheduled jobs (app.jobs.scheduler); with CRM_SCHEDULER=off none does, and
`flask crm scheduler` runs them in a process of its own.

gunicorn runs on Linux and macOS. Where it cannot be imported (Windows) the same
application is served by waitress in a single process of CRM_THREADS threads.
"""

from __future__ import annotations

import os
import sys

from app import create_app, db
from app.jobs.scheduler import start_embedded
from app.services.schema import schema_problem

MAX_DEFAULT_WORKERS = 4


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _number(name: str, default: int, least: int = 1) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = least - 1
    if value < least:
        sys.exit(f"{name} must be a whole number of at least {least}, not {raw!r}.")
    return value


def settings(app) -> dict:
    """Where and how to serve, from the environment."""
    return {
        "host": os.environ.get("HOST", "127.0.0.1"),
        "port": _number("PORT", app.config["PORT"], least=0),  # 0: any free port
        "workers": _number("CRM_WORKERS", min(cores(), MAX_DEFAULT_WORKERS)),
        "threads": _number("CRM_THREADS", 8),
    }


def gunicorn_available() -> bool:
    try:
        import gunicorn.app.base  # noqa: F401  (needs fcntl and fork: not on Windows)
    except ImportError:
        return False
    return True


def gunicorn_options(host: str, port: int, workers: int, threads: int) -> dict:
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "proc_name": "voronka",
        # The application is the one judge of proxies' X-Forwarded-* headers
        # (CRM_TRUST_PROXY); gunicorn would otherwise believe them from 127.0.0.1.
        "forwarded_allow_ips": "",
        # gunicorn's control socket has one default path for every gunicorn of the user:
        # two instances (tests, benchmarks) would take it from each other.
        "control_socket_disable": True,
    }


def serve_with_gunicorn(app, options: dict, on_ready=None, wsgi=None) -> None:
    """Serve `app` (already built; or `wsgi`, a WSGI callable around it) with gunicorn;
    `on_ready(port)` once it listens."""
    from gunicorn.app.base import BaseApplication

    def post_fork(_server, _worker):
        # A worker never uses a connection of the process it was forked from.
        with app.app_context():
            db.engine.dispose(close=False)

    def post_worker_init(_worker):
        start_embedded(app)

    class Server(BaseApplication):
        def load_config(self):
            hooks = {"post_fork": post_fork, "post_worker_init": post_worker_init}
            for name, value in {**options, **hooks}.items():
                self.cfg.set(name, value)
            if on_ready is not None:
                self.cfg.set("when_ready", lambda server: on_ready(
                    server.LISTENERS[0].sock.getsockname()[1]))

        def load(self):
            return wsgi or app

    Server(prog="voronka").run()


def serve_with_waitress(app, host: str, port: int, threads: int, on_ready=None) -> None:
    """Serve `app` with waitress in this process; `on_ready(port)` once it listens."""
    from waitress import create_server

    server = create_server(app, host=host, port=port, threads=threads, ident="Voronka")
    start_embedded(app)
    if on_ready is not None:
        on_ready(server.effective_port)
    server.run()


def banner(app, host: str, port: int, how: str) -> str:
    admin = app.config["CRM_ADMIN_USER"]
    return (f"Voronka CRM is serving on http://{host}:{port}/ with {how} "
            "(press Ctrl+C to stop)\n"
            f"{_scheduler_line(app)}\n"
            f"Log in as '{admin}' with CRM_ADMIN_PASSWORD or the password printed when the "
            "administrator was created;\n"
            "demo users supervisor, manager1, manager2, support1 use CRM_DEMO_PASSWORD "
            f"('{app.config['CRM_DEMO_PASSWORD']}' unless set).")


def _scheduler_line(app) -> str:
    if app.config.get("CRM_SCHEDULER", "embedded") == "embedded":
        return "Scheduled jobs (reminders, upkeep) run inside this server."
    return "Scheduled jobs run elsewhere: start `flask crm scheduler` (CRM_SCHEDULER=off)."


def main() -> None:
    app = create_app()
    with app.app_context():
        problem = schema_problem()
        # Nothing the workers inherit may hold a connection.
        db.engine.dispose()
    if problem:
        sys.exit(problem)
    serving = settings(app)
    host, port, workers, threads = (serving[k] for k in ("host", "port", "workers", "threads"))
    if gunicorn_available():
        how = (f"gunicorn: {workers} worker process{'es' if workers > 1 else ''} "
               f"of {threads} threads")
        serve_with_gunicorn(app, gunicorn_options(host, port, workers, threads),
                            on_ready=lambda bound: print(banner(app, host, bound, how),
                                                         flush=True))
    else:
        how = f"waitress: one process of {threads} threads (gunicorn needs Linux or macOS)"
        serve_with_waitress(app, host, port, threads,
                            on_ready=lambda bound: print(banner(app, host, bound, how),
                                                         flush=True))


if __name__ == "__main__":
    main()
