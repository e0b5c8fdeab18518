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
    admin = app.config["CRM_ADMIN_USER"]
    print(f"Voronka CRM is serving on http://{host}:{port}/ (press Ctrl+C to stop)\n"
          f"Log in as '{admin}' with CRM_ADMIN_PASSWORD or the password printed when the "
          "administrator was created;\n"
          "demo users supervisor, manager1, manager2, support1 use CRM_DEMO_PASSWORD "
          f"('{app.config['CRM_DEMO_PASSWORD']}' unless set).", flush=True)
    serve(app, host=host, port=port, threads=threads, ident="Voronka")


if __name__ == "__main__":
    main()
