"""Serve Voronka CRM with waitress, a production-grade WSGI server."""

import os
import sys

from waitress import serve

from app import create_app
from app.services.schema import schema_problem


def main() -> None:
    app = create_app()
    with app.app_context():
        problem = schema_problem()
    if problem:
        sys.exit(problem)
    port = int(os.environ.get("PORT", app.config["PORT"]))
    host = os.environ.get("HOST", "127.0.0.1")
    threads = int(os.environ.get("CRM_THREADS", "8"))
    print(f"Voronka CRM is serving on http://{host}:{port}/ (press Ctrl+C to stop)", flush=True)
    serve(app, host=host, port=port, threads=threads, ident="Voronka")


if __name__ == "__main__":
    main()
