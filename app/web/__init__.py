"""The hardening of the web layer: login throttling, sessions and API tokens, CSRF for
cookie-authenticated API writes, safe redirects and security headers (`auth`), and the
refusal of input no route accepts (`request_guard`). Request hooks, not business rules:
the rules live in app/services/."""
