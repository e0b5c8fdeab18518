"""The application served by waitress on a free local port in a background thread: for the
browser tests and the screenshot script."""

from __future__ import annotations

import logging
import threading


def serve(app, name: str = "waitress-live"):
    """Start waitress on a free port in a daemon thread; return (server, thread, url)."""
    import waitress

    # A page load asks for a dozen static files at once: waitress would log each queued one.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=8,
                                    channel_timeout=30)
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    return server, thread, f"http://127.0.0.1:{server.effective_port}"


def stop(server, thread) -> None:
    server.close()
    # Idle keep-alive connections keep waitress' loop running: close them too.
    for channel in list(getattr(server, "_map", {}).values()):
        try:
            channel.close()
        except Exception:  # pragma: no cover - best effort at tear-down
            pass
    server.task_dispatcher.shutdown(timeout=5)
    thread.join(timeout=5)
