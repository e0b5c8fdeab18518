"""The Russian and English message catalogues are complete, consistent and compiled.

Self-contained on purpose: no fixture of tests/conftest.py is used (the app fixture here
is called ``i18n_app`` so that conftest's per-test database cleaning leaves it alone).

When a test here fails after a change of the sources, update the catalogues:
    app/translations/update.sh      (extract -> update -> compile; see babel.cfg)
then translate the entries it lists in app/translations/ru/LC_MESSAGES/messages.po and run
it again.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "app" / "translations"
LOCALES = ("ru", "en")

# %(name)s, %s, %d, %.2f, %% ...; a lone "%" (as in "Discount, %") is not a placeholder.
PLACEHOLDER = re.compile(r"%(?:\([A-Za-z_]\w*\))?[-#0 +]*(?:\d+|\*)?(?:\.\d+)?[diouxXeEfFgGcrsa%]")


def _po_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


def _read_po(locale: str):
    with open(_po_path(locale), "rb") as f:
        return read_po(f, locale=locale)


def _read_mo(locale: str):
    with open(_po_path(locale).with_suffix(".mo"), "rb") as f:
        return read_mo(f)


def _as_tuple(value) -> tuple:
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return (value,)


def _key(message) -> tuple:
    """Catalogue key of a message: (msgid, context); the singular msgid for plurals."""
    return (_as_tuple(message.id)[0], message.context)


def _entries(catalog) -> list:
    return [m for m in catalog if m.id]


def _extract_app_messages() -> dict[tuple, list[str]]:
    """A fresh extraction of the application's sources, as `pybabel extract -F babel.cfg`."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f, str(ROOT / "babel.cfg"))
    found: dict[tuple, list[str]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=DEFAULT_KEYWORDS
    ):
        msgid = _as_tuple(message)[0]
        if msgid:
            found.setdefault((msgid, context), []).append(f"{filename}:{lineno}")
    return found


# --- the .po files ----------------------------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
def test_every_entry_is_translated(locale):
    catalog = _read_po(locale)
    assert len(_entries(catalog)) > 0
    untranslated = [m.id for m in _entries(catalog)
                    if not all(s and s.strip() for s in _as_tuple(m.string))]
    assert untranslated == [], f"{locale}: entries without msgstr: {untranslated}"


@pytest.mark.parametrize("locale", LOCALES)
def test_no_fuzzy_entries(locale):
    catalog = _read_po(locale)
    assert not catalog.fuzzy, f"{locale}: the catalogue header is marked fuzzy"
    fuzzy = [m.id for m in _entries(catalog) if m.fuzzy]
    assert fuzzy == [], f"{locale}: fuzzy entries (never compiled): {fuzzy}"


@pytest.mark.parametrize("locale", LOCALES)
def test_placeholders_are_kept(locale):
    catalog = _read_po(locale)
    wrong = []
    for message in _entries(catalog):
        ids = _as_tuple(message.id)
        # A plural msgstr may drop the number (Russian "one" form) but never a named value.
        expected = sorted(PLACEHOLDER.findall(ids[-1]))
        for string in _as_tuple(message.string):
            if sorted(PLACEHOLDER.findall(string or "")) != expected:
                wrong.append((message.id, string))
    assert wrong == [], f"{locale}: placeholders differ between msgid and msgstr: {wrong}"
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalog.check()]
    assert problems == [], f"{locale}: Babel's checks failed: {problems}"


def test_english_catalogue_is_identity():
    for message in _entries(_read_po("en")):
        ids = _as_tuple(message.id)
        strings = _as_tuple(message.string)
        if len(ids) == 1:
            assert strings == ids, message.id
        else:
            assert strings[0] == ids[0] and all(s == ids[1] for s in strings[1:]), message.id


@pytest.mark.parametrize("locale", LOCALES)
def test_catalogue_covers_a_fresh_extraction(locale):
    extracted = _extract_app_messages()
    assert ("Clients", None) in extracted, "babel.cfg no longer finds the app's strings"
    catalog = _read_po(locale)
    known = {_key(m) for m in _entries(catalog)}
    missing = {key[0]: where for key, where in extracted.items() if key not in known}
    assert not missing, (
        f"{locale}: strings not in the catalogue, run app/translations/update.sh and "
        f"translate them: {missing}"
    )


GETTEXT_NAMES = {"_", "gettext", "ngettext", "lazy_gettext", "_l", "N_"}


def _gettext_calls_in_python_sources() -> dict[str, list[str]]:
    """Literal msgids of every gettext-like call in app/**.py, found with the ast module.

    Unlike Babel's tokenizer on Python 3.11, this also sees calls inside f-strings.
    """
    import ast

    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / "app").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            first = node.args[0]
            if name in GETTEXT_NAMES and isinstance(first, ast.Constant) \
                    and isinstance(first.value, str) and first.value:
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                found.setdefault(first.value, []).append(where)
    return found


def test_catalogue_covers_calls_that_extraction_cannot_see():
    calls = _gettext_calls_in_python_sources()
    assert "Clients" in calls
    known = {_as_tuple(m.id)[0] for m in _entries(_read_po("ru"))}
    missing = {msgid: where for msgid, where in calls.items() if msgid not in known}
    assert not missing, (
        "gettext calls whose msgid is not in the catalogue (a call inside an f-string is "
        f"invisible to pybabel: move it out, or list it in app/i18n_extra.py): {missing}"
    )


@pytest.mark.parametrize("locale", LOCALES)
def test_pot_covers_the_catalogue(locale):
    """messages.pot, ru and en list the same strings (the catalogues were updated from it)."""
    with open(TRANSLATIONS / "messages.pot", "rb") as f:
        template = {_key(m) for m in _entries(read_po(f))}
    catalog = {_key(m) for m in _entries(_read_po(locale))}
    assert template - catalog == set(), f"{locale}: in messages.pot only: {template - catalog}"
    assert catalog - template == set(), f"{locale}: not in messages.pot: {catalog - template}"


@pytest.mark.parametrize("locale", LOCALES)
def test_mo_matches_po(locale):
    """The committed .mo holds exactly the .po's translations (compare messages, not mtimes)."""
    po = {_key(m): _as_tuple(m.string) for m in _entries(_read_po(locale))
          if not m.fuzzy and all(_as_tuple(m.string))}
    mo = {_key(m): _as_tuple(m.string) for m in _entries(_read_mo(locale))}
    stale = sorted(k[0] for k in po.keys() | mo.keys() if po.get(k) != mo.get(k))
    assert stale == [], (
        f"{locale}: messages.mo is out of date, run "
        f"`.venv/bin/pybabel compile -d app/translations`: {stale}"
    )


# --- Flask-AppBuilder's strings -------------------------------------------------------------


def _fab_messages() -> set[str]:
    import flask_appbuilder

    fab_dir = Path(flask_appbuilder.__file__).resolve().parent
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    options_map = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    keywords = {**DEFAULT_KEYWORDS, "__": None, "lazy_gettext": None,
                "lazy_formatter_gettext": None}
    return {_as_tuple(message)[0]
            for _f, _l, message, _c, _ctx in extract_from_dir(
                str(fab_dir), method_map, options_map, keywords=keywords)
            if _as_tuple(message)[0]}


def test_fab_strings_are_translated_to_russian():
    """FAB's Russian catalogue merged with ours translates every string FAB marks.

    FAB's compiled catalogue leaves out fuzzy entries and has some msgstr == msgid; what it
    lacks must be in ours (listed in app/i18n_extra.py).
    """
    import flask_appbuilder

    fab_mo = (Path(flask_appbuilder.__file__).resolve().parent / "translations" / "ru"
              / "LC_MESSAGES" / "messages.mo")
    with open(fab_mo, "rb") as f:
        fab = {m.id: m.string for m in read_mo(f) if m.id and isinstance(m.id, str)}
    ours = {m.id for m in _entries(_read_po("ru"))}
    fab_messages = _fab_messages()
    assert "Record Count" in fab_messages and "Add" in fab_messages
    missing = sorted(msgid for msgid in fab_messages
                     if msgid not in ours and (not fab.get(msgid) or fab[msgid] == msgid))
    assert missing == [], f"FAB strings with no Russian translation, add them to " \
                          f"app/i18n_extra.py and translate: {missing}"


# --- rendered pages ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def i18n_app(tmp_path_factory):
    import flask_migrate

    from app import create_app
    from app.services import setup

    tmp_path = tmp_path_factory.mktemp("i18n")
    application = create_app("config.TestConfig",
                             SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/t.db")
    with application.app_context():
        flask_migrate.upgrade()
        setup.sync_roles()
        setup.ensure_reference_data()
        setup.ensure_admin("admin", "Admin-Pass-123")
    yield application
    with application.app_context():
        from app.database import db

        db.session.remove()
        db.engine.dispose()


@pytest.fixture()
def admin(i18n_app):
    client = i18n_app.test_client()
    response = client.post("/login/", data={"username": "admin", "password": "Admin-Pass-123"})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


def _clients_list_url(application) -> str:
    from flask import url_for

    with application.test_request_context():
        return url_for("ClientView.list")


def test_clients_list_in_russian(i18n_app, admin):
    response = admin.get(_clients_list_url(i18n_app))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    # The app's own strings.
    assert "Клиенты" in html
    assert "Наименование" in html and "Ответственный" in html
    assert "Справочники" in html and "Направления продаж" in html
    # FAB's buttons and widgets, which FAB's own Russian catalogue lacks or gets wrong.
    for word in ("Добавить", "Добавить запись", "Записей", "Поиск", "Добавить фильтр",
                 "Выйти", "Профиль"):
        assert word in html, word
    for english in ("Record Count", "Add a new record", "Add Filter", "Logout", ">Clients<",
                    "Directories"):
        assert english not in html, english


def test_clients_list_in_english(i18n_app, admin):
    response = admin.get(_clients_list_url(i18n_app) + "?_l_=en")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Clients" in html
    for word in ("Add a new record", "Record Count", "Add Filter", "Directories", "Responsible"):
        assert word in html, word
    assert "Клиенты" not in html and "Добавить" not in html


def test_session_locale_switch(i18n_app, admin):
    """The language switch stores the locale in the session; later pages follow it."""
    url = _clients_list_url(i18n_app)
    with admin.session_transaction() as session:
        session["locale"] = "en"
    assert "Record Count" in admin.get(url).get_data(as_text=True)
    with admin.session_transaction() as session:
        session["locale"] = "ru"
    assert "Записей" in admin.get(url).get_data(as_text=True)


def test_validation_messages_are_translated(i18n_app):
    """Messages marked with N_ in app.rules.validation come out in Russian via gettext."""
    from flask_babel import force_locale, gettext

    from app.rules import validation

    with i18n_app.test_request_context():
        with force_locale("ru"):
            assert gettext(validation.MSG_INN_CHECKSUM) == "Неверное контрольное число ИНН"
            assert gettext("more than %(count)s", count=25) == "более 25"
        with force_locale("en"):
            assert gettext(validation.MSG_INN_CHECKSUM) == validation.MSG_INN_CHECKSUM
