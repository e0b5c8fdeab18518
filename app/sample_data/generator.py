"""Realistic generated data in bulk: `flask crm generate --clients N`.

For every client about 1.5 contacts, 0.5 interests, 1 interaction and 0.2 inquiries, plus
tags and interest products, handled by about fifty generated managers. The rows are
written in bulk, bypassing the ORM: COPY on PostgreSQL, `executemany` of plain tuples on
SQLite, Core `insert()` elsewhere. Because the session hooks of app.services.audit do not
run, this module fills what they would: the audit columns, `version` = 1 and the
normalised search columns, with the same normalisers (entities.SEARCH_SHADOWS). The change
log is not written: generated rows have no history.

The data obeys the sales rules: every open interest has a planned interaction (some
overdue, some due today, most ahead); closed ones have `closed_at`, who closed them and,
when lost, a reason; an interest with only a potential client stays in a stage that does
not require a registered client. INN, KPP and OGRN are valid and unique.

Works on an empty migrated database (the reference data and the price list are added
first) and next to existing data (ids continue after the largest ones). The load is one
transaction: interrupted, it leaves nothing behind. A large load (from 50,000 clients, and
no fewer than exist) drops the secondary indexes of the generated tables (and, on
PostgreSQL, their foreign keys) inside that transaction and builds them again at the end,
from the definitions the database reports, so the schema stays exactly what the
migrations made; meanwhile those tables (and, on PostgreSQL, the user table) are locked.
Ends with ANALYZE (SQLite) or VACUUM ANALYZE (PostgreSQL) so that the planner has
statistics and index-only scans work.
"""

from __future__ import annotations

import datetime as dt
import gc
import random
import time
from bisect import bisect
from itertools import accumulate
from typing import Callable, Optional

from flask import current_app
from sqlalchemy import func, select, text
from werkzeug.security import generate_password_hash

from app.database import db
from app.entities import SEARCH_SHADOWS
from app.models import (
    AUDIT_STAMPS,
    Client,
    Contact,
    CrmUser,
    Department,
    DictionaryItem,
    Interest,
    Model,
    Pipeline,
    Product,
    Stage,
)
from app.rules.validation import make_valid_inn, make_valid_ogrn, make_valid_ogrnip
from app.sample_data import demo
from app.services import positions
from app.services.actor import acting_as
from app.services.clock import local_day_bounds_utc, local_today, utcnow
from app.services.setup import ensure_reference_data

MANAGERS = 50
MANAGERS_PER_DEPARTMENT = 10
# Clients generated (and written, with everything that belongs to them) per batch.
BATCH_CLIENTS = 10_000
# From this many clients (and no fewer than exist) the indexes are dropped and rebuilt.
REBUILD_INDEXES_FROM = 50_000
HISTORY_YEARS = 5

# The normalisers of the shadow columns, exactly those the session hooks use.
_NAME_SEARCH = SEARCH_SHADOWS[Client]["name"][1]
_PHONE_NORMALIZED = SEARCH_SHADOWS[Client]["phone"][1]
_EMAIL_NORMALIZED = SEARCH_SHADOWS[Client]["email"][1]
_CONTACT_NAME_SEARCH = SEARCH_SHADOWS[Contact]["name"][1]
_TITLE_SEARCH = SEARCH_SHADOWS[Interest]["title"][1]

AUDIT = AUDIT_STAMPS

COLUMNS = {
    "crm_client": ("id", "kind", "name", "name_search", "inn", "kpp", "ogrn", "phone",
                   "phone_normalized", "email", "email_normalized", "site", "address",
                   "industry_id", "size_id", "contact_type_id", "source_id", "responsible_id",
                   "abc_class", "xyz_class", *AUDIT, "version"),
    "crm_client_tag": ("client_id", "tag_id"),
    "crm_contact": ("id", "client_id", "name", "name_search", "position", "phone",
                    "phone_normalized", "email", "email_normalized", "birthday", "is_key",
                    "responsible_id", *AUDIT, "version"),
    "crm_interest": ("id", "title", "title_search", "description", "service_type_id",
                     "deal_type_id", "source_id", "pipeline_id", "stage_id", "amount",
                     "currency", "responsible_id", "client_id", "potential_name",
                     "potential_company", "potential_email", "potential_phone", "flagged",
                     "closed_at", "closed_by_id", "lost_reason_id", *AUDIT, "version"),
    "crm_interest_tag": ("interest_id", "tag_id"),
    "crm_interest_product": ("id", "interest_id", "product_id", "quantity", "price",
                             "discount", *AUDIT),
    "crm_interaction": ("id", "type_id", "subject", "client_id", "contact_id", "interest_id",
                        "responsible_id", "planned_at", "done_at", "status", "result", *AUDIT,
                        "version"),
    "crm_inquiry": ("id", "channel", "inquiry_type_id", "text", "sender_name",
                    "sender_company", "sender_phone", "sender_email", "received_at",
                    "manager_id", "status", "client_id", "interest_id", *AUDIT, "version"),
}
# Parents before children: on PostgreSQL the foreign keys are checked row by row.
TABLE_ORDER = list(COLUMNS)
ID_TABLES = [name for name, columns in COLUMNS.items() if columns[0] == "id"]

# --- Text pools ----------------------------------------------------------------------------

BRAND_HEADS = ["Альфа", "Вектор", "Гранит", "Дельта", "Эталон", "Меридиан", "Орион", "Прайм",
               "Сигма", "Титан", "Атлант", "Сибирь", "Урал", "Волга", "Балтика", "Север",
               "Восток", "Юг", "Кедр", "Бор", "Техно", "Строй", "Пром", "Агро", "Энерго",
               "Медиа", "Инфо", "Нефте", "Газо", "Транс", "Лес", "Эко", "Мега", "Гео",
               "Стандарт", "Феникс", "Зенит", "Полюс", "Ресурс", "Капитал", "Союз",
               "Импульс", "Кристалл", "Монолит", "Радуга", "Старт", "Форвард", "Элемент",
               "Горизонт", "Магистраль", "Рубин", "Сапфир", "Янтарь", "Лидер", "Профи",
               "Арсенал", "Байкал", "Енисей", "Ладога", "Онега", "Алтай", "Памир", "Крокус",
               "Нева", "Ока", "Кама", "Дон", "Амур", "Тайга", "Заря", "Рассвет", "Спектр",
               "Контур", "Квант", "Атом", "Вега", "Сириус", "Пульс", "Ритм", "Олимп"]
BRAND_TAILS = ["Строй", "Торг", "Сервис", "Пром", "Снаб", "Трейд", "Логистик", "Монтаж",
               "Инвест", "Групп", "Систем", "Технологии", "Маркет", "Софт", "Проект",
               "Комплект", "Ресурс", "Энерго", "Металл", "Авто", "Холдинг", "Консалт",
               "Дизайн", "Мебель", "Пласт", "Хим", "Агро", "Фарм", "Мед", "Транс", "Тех",
               "Сталь", "Электро", "Инжиниринг", "Девелопмент", "Логистика", "Поставка",
               "Оптторг", "Склад", "Лаб"]
BRAND_JOINS = ["", "", "", "-", " "]
LEGAL_FORMS = [("ООО", 84), ("АО", 9), ("ПАО", 1), ("ЗАО", 4), ("ОАО", 2)]
CITY_WEIGHTS = [("Москва", 30), ("Санкт-Петербург", 12), ("Екатеринбург", 6),
                ("Новосибирск", 6), ("Казань", 5), ("Нижний Новгород", 5), ("Краснодар", 5),
                ("Ростов-на-Дону", 5), ("Самара", 4), ("Челябинск", 4), ("Воронеж", 4),
                ("Пермь", 4), ("Красноярск", 4), ("Иркутск", 2), ("Мурманск", 1),
                ("Калининград", 2)]
MAIL_DOMAINS = ["mail.ru", "yandex.ru", "gmail.com", "bk.ru", "list.ru", "inbox.ru",
                "rambler.ru"]
MAILBOXES = ["info", "info", "info", "office", "sales", "zakaz", "mail", "secretary"]

INTEREST_SUBJECTS = ["Поставка оборудования", "Поставка серверов", "Модернизация сети",
                     "Лицензии 1С", "Внедрение CRM", "Видеонаблюдение", "Оснащение офиса",
                     "Техническое обслуживание", "Резервное копирование", "Обучение персонала",
                     "ИТ-аудит", "Монтаж СКС", "Поставка ноутбуков", "Замена рабочих мест",
                     "Складской учёт", "Кассовое оборудование", "Защита информации",
                     "Виртуализация", "Облачная телефония", "Электронный документооборот"]
INTEREST_QUALIFIERS = ["", "", "", " для филиала", " для головного офиса", " для склада",
                       " на 2027 год", ", второй этап", " под ключ", " для производства"]
PLANNED_SUBJECTS = [("call", "Звонок: уточнить потребность"),
                    ("call", "Звонок: напомнить о коммерческом предложении"),
                    ("meeting", "Встреча: презентация решения"),
                    ("email", "Письмо: отправить коммерческое предложение"),
                    ("task", "Подготовить договор"),
                    ("task", "Выставить счёт"),
                    ("presentation", "Демонстрация продукта"),
                    ("message", "Сообщение: согласовать время встречи")]
CARE_SUBJECTS = [("call", "Звонок: плановый контакт"),
                 ("call", "Звонок: поздравление с праздником"),
                 ("email", "Письмо: рассылка новостей"),
                 ("meeting", "Встреча: знакомство с новым руководителем"),
                 ("message", "Сообщение: ответ на вопрос клиента")]
RESULTS = ["Клиент подтвердил интерес, запросил КП.", "Обсудили условия, ждём решения.",
           "Отправили коммерческое предложение.", "Договорились о встрече.",
           "Клиент взял паузу до следующего месяца.", "Согласовали спецификацию.",
           "Не дозвонились, перезвонить позже.", "Вопрос решён."]
INQUIRY_TEXTS = ["Прошу прислать прайс-лист.", "Нужна консультация по внедрению.",
                 "Хотим заказать оборудование, перезвоните.", "Вопрос по выставленному счёту.",
                 "Интересует обслуживание офиса.", "Заявка с сайта: обратный звонок.",
                 "Требуется коммерческое предложение.", "Не работает оборудование после "
                 "обновления."]
CHANNELS = [("call", 35), ("email", 25), ("web", 25), ("messenger", 10), ("visit", 5)]


def _weighted(pairs) -> Callable[[random.Random], object]:
    """A picker of a value by weight: O(log n) per pick, no per-call allocation."""
    values = [value for value, weight in pairs if weight > 0]
    cumulative = list(accumulate(weight for _value, weight in pairs if weight > 0))
    total = cumulative[-1]

    def pick(rnd: Callable[[], float]):
        return values[bisect(cumulative, rnd() * total)]
    return pick


# --- Writers -------------------------------------------------------------------------------


class _Writer:
    """Core insert() of lists of dicts: any database SQLAlchemy speaks."""

    def __init__(self, connection):
        self.connection = connection

    @staticmethod
    def ts(value: Optional[dt.datetime]):
        return value

    day = ts

    def write(self, table: str, rows: list[tuple]) -> None:
        if not rows:
            return
        columns = COLUMNS[table]
        target = Model.metadata.tables[table]
        self.connection.execute(target.insert(),
                                [dict(zip(columns, row, strict=True)) for row in rows])

    def begin_load(self) -> None:
        """Session settings for the load, outside its transaction."""

    def begin_transaction(self) -> None:
        """Open the load's transaction so that the DDL in it is rolled back on failure."""

    def end_load(self) -> None:
        """Put the session settings back."""


class _SqliteWriter(_Writer):
    """executemany of plain tuples; times in the text form SQLAlchemy stores on SQLite."""

    def __init__(self, connection):
        super().__init__(connection)
        self.sql = {
            table: f"INSERT INTO {table} ({', '.join(columns)}) "
                   f"VALUES ({', '.join('?' for _ in columns)})"
            for table, columns in COLUMNS.items()
        }
        self.saved_pragmas: dict[str, object] = {}

    @staticmethod
    def ts(value: Optional[dt.datetime]):
        return None if value is None else value.isoformat(" ", "microseconds")

    @staticmethod
    def day(value: Optional[dt.date]):
        return None if value is None else value.isoformat()

    def write(self, table: str, rows: list[tuple]) -> None:
        if rows:
            self.connection.exec_driver_sql(self.sql[table], rows)

    def begin_load(self) -> None:
        # Durability of a half-written load does not matter; speed does.
        for pragma, value in (("synchronous", "OFF"), ("cache_size", "-400000"),
                              ("temp_store", "MEMORY")):
            self.saved_pragmas[pragma] = self.connection.exec_driver_sql(
                f"PRAGMA {pragma}").scalar()
            self.connection.exec_driver_sql(f"PRAGMA {pragma}={value}")

    def begin_transaction(self) -> None:
        # The sqlite3 module opens a transaction only before INSERT/UPDATE/DELETE: DROP and
        # CREATE INDEX would run in autocommit mode without an explicit BEGIN.
        self.connection.exec_driver_sql("BEGIN IMMEDIATE")

    def end_load(self) -> None:
        for pragma, value in self.saved_pragmas.items():
            self.connection.exec_driver_sql(f"PRAGMA {pragma}={value}")


class _PostgresWriter(_Writer):
    """COPY ... FROM STDIN through psycopg: several times faster than INSERT."""

    def write(self, table: str, rows: list[tuple]) -> None:
        if not rows:
            return
        raw = self.connection.connection.driver_connection
        statement = f"COPY {table} ({', '.join(COLUMNS[table])}) FROM STDIN"
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            write_row = copy.write_row
            for row in rows:
                write_row(row)


def _writer_for(connection) -> _Writer:
    name = connection.dialect.name
    if name == "sqlite":
        return _SqliteWriter(connection)
    if name == "postgresql" and connection.dialect.driver == "psycopg":
        return _PostgresWriter(connection)
    return _Writer(connection)


# --- What the rows refer to -----------------------------------------------------------------


class _Catalogue:
    """Ids of the directory items, stages, products and managers the rows point at."""

    def __init__(self, session, managers: list[int]):
        items: dict[str, dict[str, int]] = {}
        for kind, code, item_id in session.execute(
                select(DictionaryItem.kind, DictionaryItem.code, DictionaryItem.id)
                .order_by(DictionaryItem.kind, DictionaryItem.sort, DictionaryItem.id)):
            items.setdefault(kind, {})[code] = item_id
        self.items = items
        self.managers = managers
        self.products = [(pid, str(price)) for pid, price in session.execute(
            select(Product.id, Product.price).where(Product.is_active.is_(True))
            .order_by(Product.id))]
        pipelines = session.execute(
            select(Pipeline.id, Pipeline.is_default).order_by(Pipeline.sort, Pipeline.id)).all()
        stages = session.execute(
            select(Stage.id, Stage.pipeline_id, Stage.kind, Stage.requires_client)
            .order_by(Stage.pipeline_id, Stage.sort, Stage.id)).all()
        self.pipelines = []
        for pipeline_id, is_default in pipelines:
            own = [s for s in stages if s.pipeline_id == pipeline_id]
            open_stages = [s for s in own if s.kind == "open"]
            won = [s for s in own if s.kind == "won"]
            lost = [s for s in own if s.kind == "lost"]
            if not open_stages or not won or not lost:
                continue
            self.pipelines.append({
                "id": pipeline_id,
                "weight": 75 if is_default else 25,
                "open": [(s.id, s.requires_client) for s in open_stages],
                "won": won[0].id,
                "lost": lost[0].id,
                "lost_requires_client": lost[0].requires_client,
                # Where an interest with only a potential client may stand.
                "potential_open": [s.id for s in open_stages if not s.requires_client],
            })
        if not self.pipelines:
            raise RuntimeError("No pipeline has open, won and lost stages")

    def ids(self, kind: str) -> list[int]:
        found = list(self.items.get(kind, {}).values())
        if not found:
            raise RuntimeError(f"The directory '{kind}' is empty")
        return found


def _ensure_managers(session, echo) -> list[int]:
    """Fifty managers in five sales departments; existing ones are reused.

    They sign in with CRM_DEMO_PASSWORD, like the demo users: generated data is for
    development and load tests, never for a production database.
    """
    sm = current_app.appbuilder.sm
    role = sm.find_role("Manager")
    if role is None:
        raise RuntimeError("The Manager role is missing: run `flask crm init` first")
    logins = [f"manager{n:03d}" for n in range(1, MANAGERS + 1)]
    existing = {u.username: u for u in session.execute(
        select(CrmUser).where(CrmUser.username.in_(logins))).scalars()}
    if len(existing) == len(logins):
        echo(f"  managers: {len(logins)} existed")
        return [existing[login].id for login in logins]
    rng = random.Random(7)
    password = current_app.config.get("CRM_DEMO_PASSWORD") or "demo-Voronka-2026"
    hashed = generate_password_hash(
        password, method=current_app.config.get("FAB_PASSWORD_HASH_METHOD", "scrypt"),
        salt_length=current_app.config.get("FAB_PASSWORD_HASH_SALT_LENGTH", 16))
    root = session.execute(select(Department).where(
        Department.name == "Компания", Department.parent_id.is_(None))).scalars().first()
    departments = []
    for number in range(1, -(-MANAGERS // MANAGERS_PER_DEPARTMENT) + 1):
        name = f"Отдел продаж № {number}"
        department = session.execute(
            select(Department).where(Department.name == name)).scalars().first()
        if department is None:
            department = Department(name=name, parent=root, activity_norm=demo.ACTIVITY_NORM)
            session.add(department)
        departments.append(department)
    session.flush()
    users = []
    for index, login in enumerate(logins):
        user = existing.get(login)
        if user is None:
            first, surname, _middle, _female = demo.person_name(rng)
            user = sm.add_user(username=login, first_name=first, last_name=surname,
                               email=f"{login}@voronka.local", role=role,
                               hashed_password=hashed, commit=False)
            if not user:
                raise RuntimeError(f"The user {login} could not be created")
            user.position = "Менеджер по продажам"
            user.phone = demo.mobile_phone(rng)
            user.department_id = departments[index // MANAGERS_PER_DEPARTMENT].id
        users.append(user)
    session.flush()
    for number, department in enumerate(departments):
        members = users[number * MANAGERS_PER_DEPARTMENT:(number + 1) * MANAGERS_PER_DEPARTMENT]
        if department.head_id is None and members:
            department.head_id = members[0].id
    session.commit()
    echo(f"  managers: {len(logins) - len(existing)} created, {len(existing)} existed")
    return [user.id for user in users]


# --- The generator ---------------------------------------------------------------------------


class _Generator:
    def __init__(self, catalogue: _Catalogue, writer: _Writer, seed: int,
                 next_ids: dict[str, int], total: int):
        self.cat = catalogue
        self.writer = writer
        self.rng = random.Random(seed)
        self.next_ids = next_ids
        self.total = total
        self.now = utcnow().replace(microsecond=0)
        self.start = self.now - dt.timedelta(days=365 * HISTORY_YEARS)
        self.span = (self.now - self.start).total_seconds()
        self.today_end = local_day_bounds_utc(local_today())[1]
        self.rows: dict[str, list[tuple]] = {table: [] for table in TABLE_ORDER}
        self.counts: dict[str, int] = {table: 0 for table in TABLE_ORDER}
        # Per brand, how many domains are taken. A run next to existing clients counts on
        # from their number: no brand was used more often, so e-mails stay unique.
        self.domains: dict[str, int] = {}
        self.domain_base = next_ids["crm_client"] - 1
        self.last_interest: Optional[tuple[int, Optional[int]]] = None
        self._prepare_pools()

    def _prepare_pools(self) -> None:
        cat = self.cat
        self.brands = []
        for head in BRAND_HEADS:
            for tail in BRAND_TAILS:
                if head == tail:
                    continue
                slug = demo.translit(head + tail)
                for join in ("", "-"):
                    self.brands.append((head + join + tail, slug))
        self.legal_form = _weighted(LEGAL_FORMS)
        self.city = _weighted(CITY_WEIGHTS)
        self.city_codes = {city: demo.CITIES[city] for city, _w in CITY_WEIGHTS}
        self.industries = cat.ids("industry")
        sizes = cat.items.get("company_size", {})
        self.size = _weighted([(sizes[c], w) for c, w in
                               (("micro", 40), ("small", 35), ("medium", 17), ("large", 8))
                               if c in sizes] or [(i, 1) for i in cat.ids("company_size")])
        contact_types = cat.items.get("contact_type", {})
        self.contact_type = _weighted(
            [(contact_types[c], w) for c, w in (("client", 70), ("prospect", 20),
                                                ("partner", 6), ("supplier", 4))
             if c in contact_types] or [(i, 1) for i in cat.ids("contact_type")])
        self.sources = cat.ids("source")
        self.tags = cat.ids("tag")
        self.service_types = cat.ids("service_type")
        self.deal_types = cat.ids("deal_type")
        self.lost_reasons = cat.ids("lost_reason")
        self.inquiry_types = cat.ids("inquiry_type")
        types = cat.items.get("interaction_type", {})
        fallback = next(iter(types.values()))
        self.planned_subjects = [(types.get(code, fallback), subject)
                                 for code, subject in PLANNED_SUBJECTS]
        self.care_subjects = [(types.get(code, fallback), subject)
                              for code, subject in CARE_SUBJECTS]
        self.pipeline = _weighted([(p, p["weight"]) for p in cat.pipelines])
        potential = [(p, p["weight"]) for p in cat.pipelines
                     if p["potential_open"] or not p["lost_requires_client"]]
        self.potential_pipeline = _weighted(potential) if potential else None
        self.channel = _weighted(CHANNELS)
        self.positions = demo.POSITIONS
        self.male = demo.MALE_FIRST_NAMES
        self.female = demo.FEMALE_FIRST_NAMES
        self.surnames = demo.SURNAMES
        self.female_surnames = [demo.female_surname(s) for s in demo.SURNAMES]
        self.patronymics = [(demo.patronymic(b, False), demo.patronymic(b, True))
                            for b in demo.PATRONYMIC_BASES]
        self.translit_cache: dict[str, str] = {}
        self.titles = [s + q for s in INTEREST_SUBJECTS for q in INTEREST_QUALIFIERS]
        self.title_search = {t: _TITLE_SEARCH(t) for t in self.titles}

    # --- helpers ----------------------------------------------------------------------------

    def new_id(self, table: str) -> int:
        value = self.next_ids[table]
        self.next_ids[table] = value + 1
        return value

    def tr(self, word: str) -> str:
        value = self.translit_cache.get(word)
        if value is None:
            value = self.translit_cache[word] = demo.translit(word)
        return value

    def person(self):
        """(full name, first name, surname)."""
        r = self.rng.random
        if r() < 0.45:
            first = self.female[int(r() * len(self.female))]
            index = int(r() * len(self.surnames))
            surname = self.female_surnames[index]
            middle = self.patronymics[int(r() * len(self.patronymics))][1]
        else:
            first = self.male[int(r() * len(self.male))]
            surname = self.surnames[int(r() * len(self.surnames))]
            middle = self.patronymics[int(r() * len(self.patronymics))][0]
        return f"{surname} {first} {middle}", first, surname

    def mobile(self, number: int) -> str:
        """A mobile number, one per running number below ten million, in three spellings."""
        digits = f"{(number * 7_654_321 + 1_234_567) % 10_000_000:07d}"
        code = 900 + number % 100
        style = number % 3
        if style == 0:
            return f"+7 {code} {digits[:3]}-{digits[3:5]}-{digits[5:]}"
        if style == 1:
            return f"8{code}{digits}"
        return f"+7 ({code}) {digits[:3]}{digits[3:]}"

    def moment(self, fraction: float) -> dt.datetime:
        """A time in the history: 0 = five years ago, 1 = now."""
        return self.start + dt.timedelta(seconds=int(self.span * fraction))

    # --- one client and what belongs to it ------------------------------------------------

    def client(self, position: int) -> None:
        rng = self.rng
        r = rng.random
        ts = self.writer.ts
        cat = self.cat
        cid = self.new_id("crm_client")
        responsible = cat.managers[int(r() * len(cat.managers))]
        city = self.city(r)
        region, area, postcode = self.city_codes[city]
        scrambled = (cid * 7_654_321 + 97) % 100_000_000
        year = f"{2 + scrambled % 22:02d}"
        person_name = None
        if r() < 0.85:
            kind = "company"
            brand, slug = self.brands[int(r() * len(self.brands))]
            name = f"{self.legal_form(r)} «{brand}»"
            seq7 = f"{scrambled % 10_000_000:07d}"
            inn = make_valid_inn(region + seq7)
            kpp = inn[:4] + "01001"
            ogrn = make_valid_ogrn("1" + year + region + seq7)
            taken = self.domains.get(slug, self.domain_base)
            self.domains[slug] = taken + 1
            domain = f"{slug}{taken or ''}.ru"
            email = f"{MAILBOXES[int(r() * len(MAILBOXES))]}@{domain}" if r() < 0.9 else None
            site = f"https://{domain}" if r() < 0.55 else None
            rest = f"{(scrambled * 13 + 7) % 10_000_000:07d}"[: 10 - len(area)]
            style = cid % 3
            if style == 0:
                phone = f"+7 ({area}) {rest[:-4]}-{rest[-4:-2]}-{rest[-2:]}"
            elif style == 1:
                phone = f"8 {area} {rest}"
            else:
                phone = f"+7{area}{rest}"
            size = self.size(r)
            contacts = 1 if r() < 0.5 else 2 if r() < 0.7 else 3
        else:
            kind = "person"
            person_name, first, surname = self.person()
            inn = make_valid_inn(region + f"{scrambled:08d}"[-8:], 12)
            kpp = None
            ogrn = None
            name = person_name
            if r() < 0.6:  # a sole proprietor
                ogrn = make_valid_ogrnip("3" + year + region + f"{scrambled:09d}")
                name = "ИП " + person_name
            email = f"{self.tr(first)}.{self.tr(surname)}{cid}@" \
                    f"{MAIL_DOMAINS[int(r() * len(MAIL_DOMAINS))]}" if r() < 0.8 else None
            site = None
            phone = self.mobile(3 * cid)
            domain = None
            size = None
            contacts = 0 if r() < 0.4 else 1
        if r() < 0.05:
            phone = None
        created = self.moment((position + r()) / self.total)
        changed = created if r() < 0.6 else min(
            self.now, created + dt.timedelta(days=int(r() * 400)))
        created_s, changed_s = ts(created), ts(changed)
        abc = "ABC"[0 if r() < 0.2 else 1 if r() < 0.375 else 2]
        xyz = "XYZ"[int(r() * 3)]
        self.rows["crm_client"].append((
            cid, kind, name, _NAME_SEARCH(name), inn, kpp, ogrn, phone,
            _PHONE_NORMALIZED(phone) or None if phone else None,
            email, _EMAIL_NORMALIZED(email) or None if email else None, site,
            f"{(postcode + f'{scrambled % 1000:03d}' + '000')[:6]}, г. {city}, "
            f"ул. {demo.STREETS[cid % len(demo.STREETS)]}, д. {1 + cid % 97}",
            self.industries[int(r() * len(self.industries))] if r() < 0.9 else None,
            size, self.contact_type(r), self.sources[int(r() * len(self.sources))],
            responsible, abc, xyz, created_s, changed_s, responsible, responsible, 1))
        if r() < 0.25:
            tags = rng.sample(self.tags, 1 if r() < 0.7 else 2)
            self.rows["crm_client_tag"].extend((cid, tag) for tag in tags)

        contact_ids = []
        for number in range(contacts):
            contact_ids.append(self.contact(cid, kind, person_name if kind == "person" else None,
                                            domain, responsible, created_s, number))
        for _ in range(0 if r() < 0.62 else 1 if r() < 0.74 else 2 if r() < 0.8 else 3):
            self.interest(cid, contact_ids, responsible, created)
        if r() < 0.02 and self.potential_pipeline is not None:
            self.interest(None, [], responsible, created)
        # Client care outside deals: mostly done calls, sometimes a planned one.
        for _ in range(0 if r() < 0.8 else 1 if r() < 0.5 else 2):
            type_id, subject = self.care_subjects[int(r() * len(self.care_subjects))]
            if r() < 0.9:
                when = created + (self.now - created) * r()
                self.interaction(type_id, subject, cid, contact_ids, None, responsible,
                                 when, done=True, created=when)
            else:
                self.interaction(type_id, subject, cid, contact_ids, None, responsible,
                                 self.planned_time(), done=False, created=self.now)
        if r() < 0.2:
            self.inquiry(cid, kind, name, phone, email, responsible, created)

    def contact(self, client_id, kind, person_name, domain, responsible, created_s,
                number) -> int:
        r = self.rng.random
        contact_id = self.new_id("crm_contact")
        if person_name:
            name, position = person_name, "Владелец"
            email = None
        else:
            name, first, surname = self.person()
            position = self.positions[int(r() * len(self.positions))]
            email = f"{self.tr(first)[0]}.{self.tr(surname)}@{domain}" \
                if domain and r() < 0.8 else None
        phone = self.mobile(3 * contact_id + 1) if r() < 0.85 else None
        birthday = None
        if r() < 0.4:
            birthday = self.writer.day(dt.date(1955 + int(r() * 45), 1 + int(r() * 12),
                                               1 + int(r() * 28)))
        self.rows["crm_contact"].append((
            contact_id, client_id, name, _CONTACT_NAME_SEARCH(name), position, phone,
            _PHONE_NORMALIZED(phone) or None if phone else None,
            email, _EMAIL_NORMALIZED(email) or None if email else None, birthday,
            number == 0, responsible, created_s, created_s, responsible, responsible, 1))
        return contact_id

    def planned_time(self) -> dt.datetime:
        """Overdue (15 %), due later today (5 %) or ahead (80 %)."""
        r = self.rng.random
        roll = r()
        if roll < 0.15:
            return self.now - dt.timedelta(minutes=30 + int(r() * 30 * 24 * 60))
        if roll < 0.2:
            left = (self.today_end - self.now).total_seconds()
            return self.now + dt.timedelta(seconds=int(max(left - 1, 0) * r()))
        return self.now + dt.timedelta(hours=1 + int(r() * 60 * 24))

    def interest(self, client_id, contact_ids, responsible, client_created) -> None:
        rng = self.rng
        r = rng.random
        ts = self.writer.ts
        potential = client_id is None
        pipeline = self.potential_pipeline(r) if potential else self.pipeline(r)
        interest_id = self.new_id("crm_interest")
        created = client_created + (self.now - client_created) * r()
        roll = r()
        lost_reason = closed_at = closed_by = None
        if potential:
            # Only where a potential client may stand: an open stage without the
            # "requires a registered client" flag, or lost.
            choices = pipeline["potential_open"]
            if choices and (roll < 0.75 or pipeline["lost_requires_client"]):
                stage_id, kind = choices[int(r() * len(choices))], "open"
            else:
                stage_id, kind = pipeline["lost"], "lost"
        elif roll < 0.55:
            open_stages = pipeline["open"]
            # Fewer interests further down the funnel.
            index = min(int(len(open_stages) * r() * r() * 1.6), len(open_stages) - 1)
            stage_id, kind = open_stages[index][0], "open"
        elif roll < 0.83:
            stage_id, kind = pipeline["won"], "won"
        else:
            stage_id, kind = pipeline["lost"], "lost"
        if kind != "open":
            closed_at = created + (self.now - created) * (0.2 + 0.8 * r())
            closed_by = responsible
            if kind == "lost":
                lost_reason = self.lost_reasons[int(r() * len(self.lost_reasons))]
        title = self.titles[int(r() * len(self.titles))]
        amount = f"{int(20 + r() * r() * 3000) * 1000}.00"
        potential_values = (None, None, None, None)
        if potential:
            name, first, surname = self.person()
            brand, slug = self.brands[int(r() * len(self.brands))]
            potential_values = (name, f"{self.legal_form(r)} «{brand}»",
                                f"{self.tr(first)}.{self.tr(surname)}@{slug}.ru",
                                self.mobile(3 * interest_id + 2))
        changed = closed_at or created
        self.rows["crm_interest"].append((
            interest_id, title, self.title_search[title],
            "Подробности — в истории взаимодействий." if r() < 0.3 else None,
            self.service_types[int(r() * len(self.service_types))],
            self.deal_types[int(r() * len(self.deal_types))],
            self.sources[int(r() * len(self.sources))], pipeline["id"], stage_id, amount,
            "RUB" if r() < 0.96 else "USD", responsible, client_id, *potential_values,
            r() < 0.03, ts(closed_at), closed_by, lost_reason, ts(created), ts(changed),
            responsible, responsible, 1))
        if r() < 0.15:
            self.rows["crm_interest_tag"].append(
                (interest_id, self.tags[int(r() * len(self.tags))]))
        if self.cat.products and r() < 0.4:
            for product_id, price in rng.sample(self.cat.products,
                                                min(len(self.cat.products), 1 + int(r() * 3))):
                self.rows["crm_interest_product"].append((
                    self.new_id("crm_interest_product"), interest_id, product_id,
                    f"{1 + int(r() * r() * 20)}.000", price, "5.00" if r() < 0.2 else "0.00",
                    ts(created), ts(created), responsible, responsible))
        # The history of the deal, then (if it is open) what is planned next.
        end = closed_at or self.now
        done = 1 + int(r() * 2) if kind != "open" else int(r() * 1.6)
        for step in range(done):
            type_id, subject = self.planned_subjects[int(r() * len(self.planned_subjects))]
            when = created + (end - created) * ((step + 1) / (done + 1))
            self.interaction(type_id, subject, client_id, contact_ids, interest_id,
                             responsible, when, done=True, created=created)
        if kind == "open":
            type_id, subject = self.planned_subjects[int(r() * len(self.planned_subjects))]
            self.interaction(type_id, subject, client_id, contact_ids, interest_id,
                             responsible, self.planned_time(), done=False, created=created)
        self.last_interest = (interest_id, client_id)

    def interaction(self, type_id, subject, client_id, contact_ids, interest_id, responsible,
                    when: dt.datetime, *, done: bool, created: dt.datetime) -> None:
        r = self.rng.random
        ts = self.writer.ts
        contact_id = contact_ids[int(r() * len(contact_ids))] if contact_ids else None
        if done:
            done_at = when + dt.timedelta(minutes=5 + int(r() * 60))
            row_created = min(created, when)
            self.rows["crm_interaction"].append((
                self.new_id("crm_interaction"), type_id, subject, client_id, contact_id,
                interest_id, responsible, ts(when), ts(done_at), "done",
                RESULTS[int(r() * len(RESULTS))], ts(row_created), ts(done_at), responsible,
                responsible, 1))
        else:
            created_s = ts(min(created, self.now))
            self.rows["crm_interaction"].append((
                self.new_id("crm_interaction"), type_id, subject, client_id, contact_id,
                interest_id, responsible, ts(when), None, "planned", None, created_s,
                created_s, responsible, responsible, 1))

    def inquiry(self, client_id, kind, client_name, phone, email, manager,
                client_created) -> None:
        r = self.rng.random
        ts = self.writer.ts
        inquiry_id = self.new_id("crm_inquiry")
        channel = self.channel(r)
        if kind == "person":
            name, company = client_name.removeprefix("ИП "), None
        else:
            name, company = self.person()[0], client_name
        roll = r()
        interest_id = None
        if roll < 0.03:
            status, received = "new", self.now - dt.timedelta(minutes=int(r() * 3 * 24 * 60))
            manager = manager if r() < 0.5 else None
        else:
            received = client_created + (self.now - client_created) * r()
            if roll < 0.33:
                status = "processed"
            else:
                last = self.last_interest
                if last and last[1] == client_id:
                    status = "converted" if roll < 0.78 else "linked"
                    interest_id = last[0]
                else:
                    status = "processed"
        received_s = ts(received)
        self.rows["crm_inquiry"].append((
            inquiry_id, channel, self.inquiry_types[int(r() * len(self.inquiry_types))],
            INQUIRY_TEXTS[int(r() * len(INQUIRY_TEXTS))], name, company,
            phone if channel in ("call", "messenger") else None,
            email if channel in ("email", "web") else None, received_s, manager, status,
            client_id if status != "new" else None, interest_id, received_s, received_s,
            manager, manager, 1))

    # --- writing --------------------------------------------------------------------------

    def flush(self) -> None:
        for table in TABLE_ORDER:
            rows = self.rows[table]
            if rows:
                self.writer.write(table, rows)
                self.counts[table] += len(rows)
                self.rows[table] = []


def _check_columns() -> None:
    """The column lists above must name real columns and every required one.

    Bulk inserts bypass SQLAlchemy's Python-side defaults: a NOT NULL column without a
    server default that is not generated here would fail the load halfway.
    """
    for table_name, columns in COLUMNS.items():
        table = Model.metadata.tables[table_name]
        unknown = set(columns) - set(table.c.keys())
        missing = {c.name for c in table.c if not c.nullable and c.name not in columns
                   and not c.primary_key and c.server_default is None}
        if unknown or missing:
            raise RuntimeError(f"{table_name}: unknown columns {sorted(unknown)}, "
                               f"required columns not generated {sorted(missing)}")


def _next_ids(connection) -> dict[str, int]:
    return {table: (connection.execute(
        select(func.max(Model.metadata.tables[table].c.id))).scalar() or 0) + 1
        for table in ID_TABLES}


def _fix_sequences(connection) -> None:
    if connection.dialect.name != "postgresql":
        return
    for table in ID_TABLES:
        connection.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"))


def analyze(echo=print) -> None:
    """Fresh planner statistics (and, on PostgreSQL, the visibility map)."""
    started = time.perf_counter()
    engine = db.engine
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for table in TABLE_ORDER + ["ab_user"]:
                connection.exec_driver_sql(f"VACUUM (ANALYZE) {table}")
        echo(f"  VACUUM ANALYZE: {time.perf_counter() - started:.1f} s")
    elif engine.dialect.name == "sqlite":
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
        echo(f"  ANALYZE: {time.perf_counter() - started:.1f} s")
    else:
        with engine.begin() as connection:
            for table in TABLE_ORDER:
                connection.exec_driver_sql(f"ANALYZE {table}")


def generate(clients: int, seed: int = 1, echo=print) -> dict[str, int]:
    """Add `clients` generated clients with their contacts, deals, interactions, inquiries."""
    if clients < 1:
        raise ValueError("clients must be positive")
    started = time.perf_counter()
    session = db.session
    _check_columns()
    ensure_reference_data()
    with acting_as(None):
        demo.ensure_catalogue()
        session.commit()
    managers = _ensure_managers(session, echo)
    catalogue = _Catalogue(session, managers)
    session.commit()
    session.close()

    echo(f"Generating {clients:,} clients (seed {seed}) into {db.engine.dialect.name}")
    # Millions of short-lived tuples and no cycles: the cyclic collector only slows this.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        counts = _load(clients, seed, catalogue, started, echo)
    finally:
        if gc_was_enabled:
            gc.enable()
    echo("  rows: " + ", ".join(f"{table.removeprefix('crm_')} {count:,}"
                                for table, count in counts.items()))
    summarised = time.perf_counter()
    positions.rebuild_all(db.session)
    echo(f"  list positions: {time.perf_counter() - summarised:.1f} s")
    analyze(echo)
    echo(f"Done in {time.perf_counter() - started:.1f} s")
    return counts


def _secondary_indexes(connection) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the generated tables' indexes that no constraint owns."""
    tables = tuple(TABLE_ORDER)
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({', '.join('?' for _ in tables)})", tables).all()
    elif connection.dialect.name == "postgresql":
        rows = connection.execute(text(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i "
            "WHERE i.schemaname = current_schema() AND i.tablename = ANY(:tables) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = "
            "(quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass)"),
            {"tables": list(tables)}).all()
    else:
        return []
    return [(name, sql) for name, sql in rows]


def _foreign_keys(connection) -> list[tuple[str, str, str]]:
    """(table, name, definition) of the generated tables' foreign keys, on PostgreSQL."""
    if connection.dialect.name != "postgresql":
        return []
    rows = connection.execute(text(
        "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) "
        "FROM pg_constraint c WHERE c.contype = 'f' "
        "AND c.conrelid = ANY(CAST(:tables AS regclass[]))"),
        {"tables": TABLE_ORDER}).all()
    return [(table, name, definition) for table, name, definition in rows]


def _load(clients: int, seed: int, catalogue: _Catalogue, started: float, echo
          ) -> dict[str, int]:
    """Everything in one transaction: a failed or interrupted load leaves nothing behind."""
    with db.engine.connect() as connection:
        writer = _writer_for(connection)
        writer.begin_load()
        connection.commit()
        generator = None
        try:
            writer.begin_transaction()
            existing = connection.execute(select(func.count()).select_from(
                Model.metadata.tables["crm_client"])).scalar()
            indexes, foreign_keys = [], []
            if clients >= REBUILD_INDEXES_FROM and clients >= existing:
                # Building an index once over sorted keys is far cheaper than keeping it up
                # to date row by row, and checking a foreign key once for the whole table
                # (PostgreSQL) cheaper than a trigger per row. The DDL is part of the
                # transaction: the tables are locked until the load commits.
                indexes = _secondary_indexes(connection)
                foreign_keys = _foreign_keys(connection)
                for table, name, _definition in foreign_keys:
                    connection.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
                for name, _sql in indexes:
                    connection.exec_driver_sql(f'DROP INDEX "{name}"')
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
                connection.exec_driver_sql("SET LOCAL maintenance_work_mem = '512MB'")
            generator = _Generator(catalogue, writer, seed, _next_ids(connection), clients)
            last_report = time.perf_counter()
            for position in range(clients):
                generator.client(position)
                if (position + 1) % BATCH_CLIENTS == 0 or position + 1 == clients:
                    generator.flush()
                    now = time.perf_counter()
                    if now - last_report > 5 or position + 1 == clients:
                        last_report = now
                        elapsed = now - started
                        echo(f"  {position + 1:>10,} clients  {elapsed:7.1f} s  "
                             f"({(position + 1) / max(elapsed, 1e-9):,.0f} clients/s)")
            if indexes or foreign_keys:
                index_started = time.perf_counter()
                for _name, sql in indexes:
                    connection.exec_driver_sql(sql)
                for table, name, definition in foreign_keys:
                    connection.exec_driver_sql(
                        f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
                echo(f"  {len(indexes)} indexes built, {len(foreign_keys)} foreign keys "
                     f"checked: {time.perf_counter() - index_started:.1f} s")
            _fix_sequences(connection)
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
        finally:
            writer.end_load()
            connection.commit()
    return dict(generator.counts) if generator else {}
