"""The adapters to Flask-AppBuilder: the lists' data model (`datamodel`) and filters
(`filters`), the base of every CRUD screen (`crud`), the list and form widgets
(`widgets`, `forms`), the base of every REST resource (`rest`), the API's field conversion
and spec (`api_fields`, `openapi`) and the security manager (`security`).

They are where Voronka touches Flask-AppBuilder's private names; each one, with the
parameters relied on and why, is listed in tests/test_fab_contract.py, which fails in one
place when an upgrade changes it. The screens (app/views.py, app/screens/) and
the API (app/api.py, app/security_api.py) build on them.
"""
