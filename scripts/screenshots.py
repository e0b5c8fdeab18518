#!/usr/bin/env python3
"""Full-page screenshots of the main screens, in Russian and in English, for a visual review.

    .venv/bin/python scripts/screenshots.py [--out ./screenshots] [--lang ru --lang en] [--user manager1] [--width 390] [--screen board]

The app is started as the browser tests start it: waitress in a background thread on
127.0.0.1 and a free port, a temporary SQLite database made by the migrations, CSRF on. The
demo company is loaded when app.sample_data.demo.create_demo_company exists (demo users'
password "Demo-Pass-123"); otherwise a small sample of records is made, so that lists and
the client's history are not empty. Then the administrator logs in through the login form,
changes the client with the most history through its edit form (so its page shows an update
made the way users make them), and each screen is saved as <out>/<lang>-<nn>-<screen>.png
(pages taller than 3000 px also as <...>-top.png, the first screen only).

Requests to anything but the local server are blocked (the machine may be offline). Page
errors, console errors, HTTP errors and blocked requests are printed per screen and written
to <out>/report.txt.

Needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium) and the Python
packages of requirements-dev.txt (playwright, waitress).
"""

from __future__ import annotations

import argparse
import datetime as dt
import inspect
import logging
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.live_server import serve, stop  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ADMIN_USER = "admin"
ADMIN_PASSWORD = "Admin-Pass-123"
DEMO_PASSWORD = "Demo-Pass-123"
LANGUAGES = ("ru", "en")

# (file name, path). "{client_id}" is a client with recorded history, "{interest_id}" the
# open interest with the most interactions, "{plan_id}" its next planned interaction and
# "{busy_client_id}" its client.
SCREENS = [
    ("start", "/"),
    ("clients-list", "/clientview/list/"),
    ("client-add", "/clientview/add"),
    ("client-show", "/clientview/show/{client_id}"),
    ("client-card", "/clientview/show/{busy_client_id}"),
    ("client-edit", "/clientview/edit/{busy_client_id}"),
    ("interests-list", "/interestview/list/"),
    ("interactions-list", "/interactionview/list/"),
    ("interactions-overdue", "/interactionview/list/?worklist=overdue"),
    ("board", "/board/"),
    ("interest-add", "/interestview/add"),
    ("interest-card", "/interestview/show/{interest_id}"),
    ("interest-move", "/interestview/move/{interest_id}"),
    ("interest-close", "/interestview/close/{interest_id}?outcome=lost"),
    ("interaction-complete", "/interactionview/complete/{plan_id}"),
    ("interaction-add", "/interactionview/add"),
    ("interaction-show", "/interactionview/show/{plan_id}"),
    ("inquiry-add", "/inquiryview/add"),
    ("history-list", "/changelogview/list/"),
    ("inquiries-list", "/inquiryview/list/"),
    ("price-list", "/productview/list/"),
    ("requisites-list", "/companyrequisitesview/list/"),
    ("custom-fields", "/customfieldview/list/"),
    ("custom-field-add", "/customfieldview/add?entity=interest"),
    ("jobs", "/jobs/"),
    ("notifications", "/notifications/"),
    ("notification-settings", "/notifications/settings"),
    ("exports", "/exports/"),
    ("calendar-feed", "/calendar_feed/"),
    ("my-tasks", "/my_tasks/"),
    ("report-time-spent", "/reports/time_spent/"),
    ("report-time-spent-clients", "/reports/time_spent/?view=clients"),
    ("absences", "/absences/"),
    ("handover", "/handover/?from_user={busy_user_id}"),
    ("calendar-week", "/calendar/?user={busy_user_id}"),
    ("calendar-day", "/calendar/?user={busy_user_id}&view=timeGridDay"),
    ("calendar-month", "/calendar/?user={busy_user_id}&view=dayGridMonth"),
    ("calendar-list", "/calendar/?user={busy_user_id}&view=listWeek"),
    ("calendar-team-day", "/calendar/team"),
    ("calendar-team-week", "/calendar/team?span=week"),
    ("reports", "/reports/"),
    ("report-funnel", "/reports/funnel/?start={year_ago}&end={today}"),
    ("report-funnel-managers", "/reports/funnel/?start={year_ago}&end={today}&view=managers"),
    ("report-funnel-drill", "/reports/funnel/drill?start={year_ago}&end={today}&stage={stage_id}"),
    ("report-motivator", "/reports/motivator/?start={month_ago}&end={today}"),
    ("report-control", "/reports/control/"),
    ("report-control-touches", "/reports/control/?view=touches&start={month_ago}&end={today}"),
    ("report-quality", "/reports/quality/"),
    ("report-quality-wizard", "/reports/quality/drill?check=portrait"),
    ("report-abcxyz", "/reports/abcxyz/"),
    ("report-pricelist", "/reports/pricelist/"),
    ("report-pricelist-print", "/reports/pricelist/print"),
    ("report-subscriptions", "/reports/subscriptions/"),
    ("sales-plans", "/salesplanview/list/"),
    ("swagger", "/swagger/v1"),
]



def busiest_calendar(app) -> dict:
    """{"busy_user_id"}: the user with the most items planned this week and next (the
    calendar's screens show theirs)."""
    from sqlalchemy import func, select

    from app.database import db
    from app.models import Interaction

    with app.app_context():
        try:
            now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
            user = db.session.execute(
                select(Interaction.responsible_id).where(
                    Interaction.planned_at >= now - dt.timedelta(days=7),
                    Interaction.planned_at < now + dt.timedelta(days=7))
                .group_by(Interaction.responsible_id).order_by(func.count().desc())
                .limit(1)).scalar()
            return {"busy_user_id": user} if user else {}
        finally:
            db.session.remove()


def planned_absences(app) -> None:
    """Two managers' absences, one under way since today and one next week, so that the
    absences' page shows both states and what went to a deputy."""
    from sqlalchemy import func, select

    from app.database import db
    from app.models import CrmUser, Interaction
    from app.services import absences
    from app.services.actor import acting_as
    from app.services.clock import local_today

    with app.app_context():
        try:
            managers = db.session.execute(
                select(Interaction.responsible_id).where(Interaction.status == "planned")
                .group_by(Interaction.responsible_id).order_by(func.count())
                .limit(4)).scalars().all()
            admin = db.session.execute(
                select(CrmUser).where(CrmUser.username == "admin")).scalar_one()
            if len(managers) < 4:
                return
            today = local_today()
            with acting_as(admin):
                absences.plan(managers[0], managers[1], today, today + dt.timedelta(days=4),
                              "Отпуск")
                absences.plan(managers[2], managers[3], today + dt.timedelta(days=7),
                              today + dt.timedelta(days=9), "Командировка")
        finally:
            db.session.remove()


def tasks_and_time(app, busy_user_id) -> None:
    """The administrator's own work for "My tasks" and the desk: a call of an interest due
    today, tasks for themselves and given to the busiest manager (one of them done, one
    overdue); and the minutes of the demo's done interactions, for the time spent."""
    from sqlalchemy import case, select, update

    from app.database import db
    from app.models import CrmUser, DictionaryItem, Interaction, Interest
    from app.services import my_tasks, sales
    from app.services.actor import acting_as
    from app.services.clock import local_day_bounds_utc, local_today, utcnow

    with app.app_context():
        try:
            admin = db.session.execute(
                select(CrmUser).where(CrmUser.username == "admin")).scalar_one()
            now = utcnow().replace(second=0, microsecond=0)
            _start, end_of_today = local_day_bounds_utc(local_today())
            later_today = max(now + dt.timedelta(minutes=30),
                              end_of_today - dt.timedelta(hours=2))
            with acting_as(admin):
                interest = db.session.execute(
                    select(Interest).where(Interest.closed_at.is_(None))
                    .order_by(Interest.id).limit(1)).scalar()
                if interest is not None:
                    sales.create_interest(
                        Interest(title="Поставка оборудования", client=interest.client,
                                 responsible=admin, amount=480000),
                        sales.Plan("Обсудить спецификацию", now - dt.timedelta(hours=3)))
                for subject, when, text in [
                        ("Подготовить коммерческое предложение", later_today,
                         "Три варианта комплектации, цены с НДС"),
                        ("Согласовать скидку с финансовым отделом",
                         now + dt.timedelta(days=1, hours=2), None),
                        ("Проверить договор у юриста", now + dt.timedelta(days=3), None)]:
                    my_tasks.give_task(subject=subject, planned_at=when, description=text)
                if busy_user_id:
                    given = [my_tasks.give_task(
                        subject=subject, planned_at=when, description=text,
                        responsible_id=busy_user_id) for subject, when, text in [
                        ("Собрать отзывы клиентов", now - dt.timedelta(days=1),
                         "Пять клиентов из Москвы"),
                        ("Обновить презентацию", now + dt.timedelta(days=2), None),
                        ("Обзвонить участников выставки", now - dt.timedelta(days=2), None)]]
                    busy = db.session.get(CrmUser, busy_user_id)
                    with acting_as(busy):
                        sales.complete(db.session.get(Interaction, given[2].id),
                                       result="Обзвонили 12 компаний, 3 интересуются",
                                       spent_minutes=95)
            minutes = db.session.execute(
                select(DictionaryItem.id, DictionaryItem.code)
                .where(DictionaryItem.kind == "interaction_type")).all()
            usual = {"call": 10, "meeting": 60, "email": 15, "message": 5, "task": 30}
            db.session.execute(
                update(Interaction).where(Interaction.status == "done",
                                          Interaction.spent_minutes.is_(None))
                .values(spent_minutes=case(
                    *[(Interaction.type_id == key, usual.get(code, 20) + (Interaction.id % 7) * 5)
                      for key, code in minutes], else_=20))
                .execution_options(synchronize_session=False))
            db.session.commit()
        finally:
            db.session.remove()


# --- the application -------------------------------------------------------------------------


def build_app(database_path: Path):
    import flask_migrate

    from app import create_app, db
    from app.services import setup

    app = create_app("config.TestConfig", SQLALCHEMY_DATABASE_URI=f"sqlite:///{database_path}",
                     WTF_CSRF_ENABLED=True)
    with app.app_context():
        _no_fsync(db.engine)
        flask_migrate.upgrade()
        setup.sync_roles()
        setup.ensure_reference_data()
        setup.ensure_admin(ADMIN_USER, ADMIN_PASSWORD)
        if not load_demo():
            make_sample()
        db.session.remove()
    return app


def _no_fsync(engine) -> None:
    """The database is thrown away: skip fsync on commit (sync_roles() is 5x faster)."""
    from sqlalchemy import event

    def _pragma(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.close()

    event.listen(engine, "connect", _pragma)
    engine.dispose()


def load_demo() -> bool:
    """The demo company, when the app has one. False when it has not (yet)."""
    import importlib

    try:
        demo = importlib.import_module("app.sample_data.demo")
    except ModuleNotFoundError as error:
        if error.name != "app.sample_data.demo":
            raise
        print("app.sample_data.demo is not there yet: making a small sample instead")
        return False
    create = getattr(demo, "create_demo_company", None)
    if create is None:
        print("app.sample_data.demo has no create_demo_company: making a small sample instead")
        return False
    parameters = inspect.signature(create).parameters
    if "password" in parameters:
        create(password=DEMO_PASSWORD)
    else:
        create(DEMO_PASSWORD)
    print("demo company created")
    return True


def make_sample() -> None:
    """A handful of records through the app's own save path, with some history."""
    import datetime as dt
    from decimal import Decimal

    from sqlalchemy import select

    from app.database import db
    from app.models import (
        Client,
        CompanyRequisites,
        Contact,
        CrmUser,
        DictionaryItem,
        Inquiry,
        Interaction,
        Interest,
        InterestProduct,
        Pipeline,
        Product,
        ProductGroup,
        Stage,
    )
    from app.services import records
    from app.services.audit import acting_as

    admin_id = db.session.execute(
        select(CrmUser.id).where(CrmUser.username == ADMIN_USER)).scalar_one()
    admin = db.session.get(CrmUser, admin_id)
    pipeline = db.session.execute(select(Pipeline).where(Pipeline.is_default)).scalar_one()
    stages = db.session.execute(
        select(Stage).where(Stage.pipeline_id == pipeline.id).order_by(Stage.sort)
    ).scalars().all()
    call = db.session.execute(select(DictionaryItem).where(
        DictionaryItem.kind == "interaction_type", DictionaryItem.code == "call")).scalar_one()
    website = db.session.execute(select(DictionaryItem).where(
        DictionaryItem.kind == "source", DictionaryItem.code == "website")).scalar_one()
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)

    with acting_as(admin_id):
        client = Client(kind="company", name="ООО «Ромашка»", inn="7707083893",
                        phone="+7 495 123-45-67", email="info@romashka.example",
                        address="Москва, ул. Ленина, д. 1", responsible=admin, source=website)
        records.save(client, is_new=True)
        records.save(Client(kind="person", name="Иванов Иван Иванович", inn="500100732259",
                            phone="+7 916 000-00-01", responsible=admin), is_new=True)

        contact = Contact(client=client, name="Петрова Анна", position="Закупщик",
                          phone="+7 916 111-22-33", email="a.petrova@romashka.example",
                          is_key=True, responsible=admin)
        records.save(contact, is_new=True)

        group = ProductGroup(name="Услуги", sort=10)
        records.save(group, is_new=True)
        product = Product(name="Внедрение CRM", sku="CRM-01", group=group, unit="шт",
                          price=Decimal("150000.00"), currency="RUB", is_active=True)
        records.save(product, is_new=True)
        records.save(Product(name="Сопровождение, месяц", sku="CRM-02", group=group,
                             unit="мес", price=Decimal("25000.00"), currency="RUB",
                             is_active=True), is_new=True)

        interest = Interest(title="Внедрение CRM для отдела продаж", client=client,
                            pipeline=pipeline, stage=stages[1], amount=Decimal("150000.00"),
                            currency="RUB", responsible=admin, source=website)
        records.save(interest, is_new=True)
        records.save(Interest(title="Консультация", potential_company="ООО «Лютик»",
                              potential_name="Сидоров Пётр", pipeline=pipeline,
                              stage=stages[0], amount=Decimal("0"), currency="RUB",
                              responsible=admin), is_new=True)
        records.save(InterestProduct(interest=interest, product=product,
                                     quantity=Decimal("1"), price=Decimal("150000.00"),
                                     discount=Decimal("0")), is_new=True)

        records.save(Interaction(type=call, subject="Обсудить коммерческое предложение",
                                 client=client, contact=contact, interest=interest,
                                 responsible=admin, planned_at=now + dt.timedelta(hours=2),
                                 status="planned"), is_new=True)
        records.save(Interaction(type=call, subject="Первый звонок", client=client,
                                 responsible=admin, planned_at=now - dt.timedelta(days=1),
                                 done_at=now - dt.timedelta(days=1), status="done",
                                 result="Интересуются внедрением"), is_new=True)

        records.save(Inquiry(channel="web", text="Хотим узнать стоимость внедрения CRM",
                             sender_name="Сидоров Пётр", sender_company="ООО «Лютик»",
                             sender_email="petr@lutik.example", received_at=now,
                             manager=admin, status="new"), is_new=True)

        records.save(CompanyRequisites(
            template="company", full_name="Общество с ограниченной ответственностью «Воронка»",
            short_name="ООО «Воронка»", inn="7707083893", kpp="773601001",
            ogrn="1027700132195", address="Москва, ул. Вавилова, д. 19",
            bank_name="ПАО Сбербанк", bik="044525225", account="40702810938000000001",
            corr_account="30101810400000000225", director="Иванов И. И.", is_default=True),
            is_new=True)
    print("sample records created")


def edit_client_in_browser(page, client_id: int) -> None:
    """Change the client through its edit form, as a user would: its history gets an entry."""
    page.goto(f"/clientview/edit/{client_id}")
    old_comment = page.locator("#comment").input_value()
    page.fill("#comment", (old_comment + " " if old_comment else "")
              + "Перезвонить после 15:00 (правка из браузера)")
    page.fill("#site", "https://example.org/edited-in-browser")
    with page.expect_navigation():
        page.locator("#model_form button[type=submit]").click()
    if "/edit/" in page.url:
        print(f"warning: the edit of client {client_id} was refused; its page may show no "
              "update in the history")


def client_with_history(app) -> int | None:
    """The client with the most recorded changes (its page shows the history table)."""
    from sqlalchemy import func, select

    from app.database import db
    from app.models import ChangeLog, Client

    with app.app_context():
        try:
            row = db.session.execute(
                select(ChangeLog.record_id, func.count().label("n"))
                .where(ChangeLog.entity == "Client")
                .group_by(ChangeLog.record_id).order_by(func.count().desc()).limit(1)
            ).first()
            if row is not None and db.session.get(Client, row.record_id) is not None:
                return row.record_id
            return db.session.execute(select(func.min(Client.id))).scalar()
        finally:
            db.session.remove()


# --- the browser -----------------------------------------------------------------------------


class PageLog:
    """What went wrong while a screen was loading."""

    def __init__(self, page, base_url: str):
        self.items: list[str] = []
        page.on("pageerror", lambda error: self.items.append(f"JS error: {error}"))
        page.on("console", self._console)
        page.on("response", self._response)
        self.base_url = base_url

    def _console(self, message) -> None:
        if message.type in ("error", "warning"):
            self.items.append(f"console {message.type}: {message.text}")

    def _response(self, response) -> None:
        if response.status >= 400:
            self.items.append(f"HTTP {response.status}: {response.url}")

    def take(self) -> list[str]:
        items, self.items = self.items, []
        return items


def busy_interest(app) -> dict:
    """{"interest_id", "plan_id", "busy_client_id"}: the open interest with the most
    interactions, its next planned one and its client (empty when there is none)."""
    from sqlalchemy import func, select

    from app.database import db
    from app.models import Interaction, Interest, Pipeline, Stage

    with app.app_context():
        try:
            row = db.session.execute(
                select(Interaction.interest_id, func.count().label("n"))
                .join(Interest, Interest.id == Interaction.interest_id)
                .where(Interest.closed_at.is_(None))
                .group_by(Interaction.interest_id).order_by(func.count().desc()).limit(1)
            ).first()
            if row is None:
                return {}
            plan = db.session.execute(
                select(Interaction.id).where(Interaction.interest_id == row.interest_id,
                                             Interaction.status == "planned")
                .order_by(Interaction.planned_at).limit(1)).scalar()
            client = db.session.get(Interest, row.interest_id).client_id
            stage = db.session.execute(
                select(Stage.id).join(Pipeline, Pipeline.id == Stage.pipeline_id)
                .where(Pipeline.is_default.is_(True)).order_by(Stage.sort).limit(1)).scalar()
            today = dt.date.today()
            return {"interest_id": row.interest_id, **({"plan_id": plan} if plan else {}),
                    **({"busy_client_id": client} if client else {}),
                    "stage_id": stage, "today": today.isoformat(),
                    "year_ago": (today - dt.timedelta(days=365)).isoformat(),
                    "month_ago": (today - dt.timedelta(days=30)).isoformat()}
        finally:
            db.session.remove()


def run_jobs(app) -> None:
    """Every scheduled job once, as the scheduler runs them: the bell, the notifications
    and Settings → Jobs then show what a working day shows."""
    from app.database import db
    from app.jobs import JOBS, runner
    from app.models import utcnow

    with app.app_context():
        for job in JOBS:
            runner.run(job, utcnow(), "schedule")
        db.session.remove()


def take_screenshots(base_url: str, out: Path, languages, client_id,
                     user: str | None = None, more_ids: dict | None = None,
                     width: int = 1366, only: list[str] | None = None) -> list[str]:
    from playwright.sync_api import sync_playwright

    lines: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                             headless=True)
        context = browser.new_context(viewport={"width": width, "height": 900},
                                      base_url=base_url, locale="ru-RU")
        context.set_default_timeout(15_000)
        blocked: list[str] = []

        def local_only(route):
            if route.request.url.startswith(base_url):
                route.continue_()
            else:
                blocked.append(route.request.url)
                route.abort()

        context.route("**/*", local_only)
        page = context.new_page()
        page_log = PageLog(page, base_url)

        page.goto("/login/")
        page.fill("#username", user or ADMIN_USER)
        page.fill("#password", DEMO_PASSWORD if user else ADMIN_PASSWORD)
        with page.expect_navigation():
            page.click("form[name=login] [type=submit]")
        if "/login" in page.url:
            raise SystemExit(f"login as {user or 'the administrator'} failed")
        page_log.take()
        if client_id is not None and user is None:
            edit_client_in_browser(page, client_id)
            page_log.take()

        for language in languages:
            page.goto(f"/lang/{language}")
            page_log.take()
            for index, (name, path) in enumerate(SCREENS, start=1):
                if only and name not in only:
                    continue
                ids = {"client_id": client_id, **(more_ids or {})}
                if "{" in path:
                    try:
                        path = path.format(**{k: v for k, v in ids.items() if v is not None})
                    except KeyError as missing:
                        lines.append(f"{language} {name}: skipped, there is no {missing}")
                        continue
                if name == "exports":  # two exports of the clients list, to be listed
                    for fmt in ("csv", "xlsx"):
                        page.request.get(f"/clientview/export/?format={fmt}&_flt_0_name=А")
                response = page.goto(path, wait_until="load")
                try:
                    page.wait_for_load_state("networkidle", timeout=5_000)
                except Exception:
                    pass
                if name == "swagger":
                    try:
                        page.wait_for_selector("#swagger-ui .opblock-tag", timeout=10_000)
                    except Exception:
                        page_log.items.append("swagger UI rendered no operations in 10 s")
                time.sleep(0.3)  # let select2 and fades settle
                file = out / f"{language}-{index:02d}-{name}.png"
                page.screenshot(path=str(file), full_page=True)
                height = page.evaluate("document.documentElement.scrollHeight")
                top = None
                if height > 3000:  # unreadable as one image: keep the first screen too
                    top = file.with_name(file.stem + "-top.png")
                    page.screenshot(path=str(top))
                status = response.status if response is not None else "?"
                problems = page_log.take() + [f"blocked external request: {u}" for u in blocked]
                blocked.clear()
                lines.append(f"{language} {name} {path} -> HTTP {status}, {file.name}"
                             + (f" (+ {top.name})" if top else ""))
                lines.extend(f"    {p}" for p in problems)
                if name == "calendar-feed":  # turned on, its URL shown; then off again
                    with page.expect_navigation():
                        page.locator(".crm-calendar-feed button[type=submit]").first.click()
                    shown = file.with_name(file.stem + "-on.png")
                    page.screenshot(path=str(shown), full_page=True)
                    lines.append(f"{language} {name} turned on -> {shown.name}")
                    with page.expect_navigation():
                        page.locator(".crm-calendar-feed .btn-danger").click()
                    lines.extend(f"    {p}" for p in page_log.take())
        context.close()
        browser.close()
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="screenshots", type=Path,
                        help="directory for the PNG files (default: ./screenshots)")
    parser.add_argument("--lang", action="append", choices=LANGUAGES,
                        help="language(s) to shoot, repeatable (default: ru and en)")
    parser.add_argument("--width", type=int, default=1366,
                        help="the window's width in pixels (390: a phone; default: 1366)")
    parser.add_argument("--user", help="a demo user to look as (e.g. manager1; default: the "
                                       "administrator)")
    parser.add_argument("--screen", action="append", choices=[name for name, _ in SCREENS],
                        help="only these screens, repeatable (default: every one)")
    args = parser.parse_args(argv)

    if not CHROMIUM.exists():
        print("chromium not found: install Debian's chromium (apt-get install chromium)",
              file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING)
    # FAB and apispec complain about things of theirs at every start; keep the output short.
    logging.getLogger("flask_appbuilder.models.filters").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", category=UserWarning, module="apispec")
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="voronka-screenshots-") as tmp:
        app = build_app(Path(tmp) / "voronka.db")
        client_id = client_with_history(app)
        more_ids = {**busy_interest(app), **busiest_calendar(app)}
        planned_absences(app)
        tasks_and_time(app, more_ids.get("busy_user_id"))
        run_jobs(app)
        server, thread, url = serve(app, "waitress-screenshots")
        try:
            lines = take_screenshots(url, out, args.lang or LANGUAGES, client_id, args.user,
                                     more_ids, args.width, args.screen)
        finally:
            stop(server, thread)
            from app.database import db

            with app.app_context():
                db.session.remove()
                db.engine.dispose()

    report = "\n".join(lines) + "\n"
    (out / "report.txt").write_text(report, encoding="utf-8")
    print(report, end="")
    print(f"screenshots in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
