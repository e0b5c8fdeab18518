"""Serve the application in a process of its own, for tests that need real workers.

    python -m tests.serve_app <database url>

Builds create_app("config.TestConfig", SQLALCHEMY_DATABASE_URI=<url>) against a database
the migrations already made, serves it with waitress on 127.0.0.1 on a free port, prints
that port on the first line of standard output once it listens, and serves until killed.
"""

from __future__ import annotations

import logging
import sys


def main() -> None:
    url = sys.argv[1]
    import waitress

    from app import create_app

    app = create_app("config.TestConfig", SQLALCHEMY_DATABASE_URI=url)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4,
                                    channel_timeout=30)
    print(server.effective_port, flush=True)
    server.run()


if __name__ == "__main__":
    main()
