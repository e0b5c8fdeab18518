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

from sqlalchemy import func, select

from app.database import db
from app.entities import SEARCH_KEYS, SEARCH_SHADOWS
from app.models import (
    Client,
    Contact,
    Interest,
    Model,
)
from app.rules.validation import make_valid_inn, make_valid_ogrn, make_valid_ogrnip
from app.sample_data import bulk_load, people, references
from app.sample_data.catalogue import ensure_catalogue
from app.services import plans, positions, report_tables
from app.services.actor import acting_as
from app.services.clock import local_day_bounds_utc, local_today, utcnow
from app.services.setup import ensure_reference_data

# Clients generated (and written, with everything that belongs to them) per batch.
BATCH_CLIENTS = 10_000
# From this many clients (and no fewer than exist) the indexes are dropped and rebuilt.
REBUILD_INDEXES_FROM = 50_000
HISTORY_YEARS = 5

# The normalisers of the shadow columns, exactly those the session hooks use.
_NAME_SEARCH = SEARCH_SHADOWS[Client]["name"][1]
_PHONE_NORMALIZED = SEARCH_SHADOWS[Client]["phone"][1]
_EMAIL_NORMALIZED = SEARCH_SHADOWS[Client]["email"][1]
_PHONE_TAIL = dict(SEARCH_KEYS[Client]["phone"])["phone_tail"]
_EMAIL_DOMAIN = dict(SEARCH_KEYS[Client]["email"])["email_domain"]
_CONTACT_NAME_SEARCH = SEARCH_SHADOWS[Contact]["name"][1]
_TITLE_SEARCH = SEARCH_SHADOWS[Interest]["title"][1]


def _weighted(pairs) -> Callable[[random.Random], object]:
    """A picker of a value by weight: O(log n) per pick, no per-call allocation."""
    values = [value for value, weight in pairs if weight > 0]
    cumulative = list(accumulate(weight for _value, weight in pairs if weight > 0))
    total = cumulative[-1]

    def pick(rnd: Callable[[], float]):
        return values[bisect(cumulative, rnd() * total)]
    return pick


# --- The generator ---------------------------------------------------------------------------


class _Generator:
    def __init__(self, catalogue: references.Catalogue, writer: bulk_load.Writer, seed: int,
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
        self.rows: dict[str, list[tuple]] = {table: [] for table in bulk_load.TABLE_ORDER}
        self.counts: dict[str, int] = {table: 0 for table in bulk_load.TABLE_ORDER}
        # Per brand, how many domains are taken. A run next to existing clients counts on
        # from their number: no brand was used more often, so e-mails stay unique.
        self.domains: dict[str, int] = {}
        self.domain_base = next_ids["crm_client"] - 1
        self.last_interest: Optional[tuple[int, Optional[int]]] = None
        self._prepare_pools()

    def _prepare_pools(self) -> None:
        cat = self.cat
        self.brands = []
        for head in people.BRAND_HEADS:
            for tail in people.BRAND_TAILS:
                if head == tail:
                    continue
                slug = people.translit(head + tail)
                for join in ("", "-"):
                    self.brands.append((head + join + tail, slug))
        self.legal_form = _weighted(people.LEGAL_FORMS)
        self.city = _weighted(people.CITY_WEIGHTS)
        self.city_codes = {city: people.CITIES[city] for city, _w in people.CITY_WEIGHTS}
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
                                 for code, subject in people.PLANNED_SUBJECTS]
        self.care_subjects = [(types.get(code, fallback), subject)
                              for code, subject in people.CARE_SUBJECTS]
        self.pipeline = _weighted([(p, p["weight"]) for p in cat.pipelines])
        potential = [(p, p["weight"]) for p in cat.pipelines
                     if p["potential_open"] or not p["lost_requires_client"]]
        self.potential_pipeline = _weighted(potential) if potential else None
        self.channel = _weighted(people.CHANNELS)
        self.positions = people.POSITIONS
        self.male = people.MALE_FIRST_NAMES
        self.female = people.FEMALE_FIRST_NAMES
        self.surnames = people.SURNAMES
        self.female_surnames = [people.female_surname(s) for s in people.SURNAMES]
        self.patronymics = [(people.patronymic(b, False), people.patronymic(b, True))
                            for b in people.PATRONYMIC_BASES]
        self.translit_cache: dict[str, str] = {}
        self.titles = [s + q for s in people.INTEREST_SUBJECTS for q in people.INTEREST_QUALIFIERS]
        self.title_search = {t: _TITLE_SEARCH(t) for t in self.titles}

    # --- helpers ----------------------------------------------------------------------------

    def new_id(self, table: str) -> int:
        value = self.next_ids[table]
        self.next_ids[table] = value + 1
        return value

    def tr(self, word: str) -> str:
        value = self.translit_cache.get(word)
        if value is None:
            value = self.translit_cache[word] = people.translit(word)
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
            email = f"{people.MAILBOXES[int(r() * len(people.MAILBOXES))]}@{domain}" if r() < 0.9 else None
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
                    f"{people.MAIL_DOMAINS[int(r() * len(people.MAIL_DOMAINS))]}" if r() < 0.8 else None
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
            _PHONE_TAIL(phone) if phone else None,
            email, _EMAIL_NORMALIZED(email) or None if email else None,
            _EMAIL_DOMAIN(email) if email else None, site,
            f"{(postcode + f'{scrambled % 1000:03d}' + '000')[:6]}, г. {city}, "
            f"ул. {people.STREETS[cid % len(people.STREETS)]}, д. {1 + cid % 97}",
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
        birthday = birthday_key = None
        if r() < 0.4:
            born = dt.date(1955 + int(r() * 45), 1 + int(r() * 12), 1 + int(r() * 28))
            birthday, birthday_key = self.writer.day(born), born.month * 100 + born.day
        self.rows["crm_contact"].append((
            contact_id, client_id, name, _CONTACT_NAME_SEARCH(name), position, phone,
            _PHONE_NORMALIZED(phone) or None if phone else None,
            _PHONE_TAIL(phone) if phone else None,
            email, _EMAIL_NORMALIZED(email) or None if email else None,
            _EMAIL_DOMAIN(email) if email else None, birthday, birthday_key,
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
                people.RESULTS[int(r() * len(people.RESULTS))], ts(row_created), ts(done_at), responsible,
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
            people.INQUIRY_TEXTS[int(r() * len(people.INQUIRY_TEXTS))], name, company,
            phone if channel in ("call", "messenger") else None,
            email if channel in ("email", "web") else None, received_s, manager, status,
            client_id if status != "new" else None, interest_id, received_s, received_s,
            manager, manager, 1))

    # --- writing --------------------------------------------------------------------------

    def flush(self) -> None:
        for table in bulk_load.TABLE_ORDER:
            rows = self.rows[table]
            if rows:
                self.writer.write(table, rows)
                self.counts[table] += len(rows)
                self.rows[table] = []





def generate(clients: int, seed: int = 1, echo=print) -> dict[str, int]:
    """Add `clients` generated clients with their contacts, deals, interactions, inquiries."""
    if clients < 1:
        raise ValueError("clients must be positive")
    started = time.perf_counter()
    session = db.session
    bulk_load.check_columns()
    ensure_reference_data()
    with acting_as(None):
        ensure_catalogue()
        session.commit()
    managers = references.ensure_managers(session, echo)
    catalogue = references.Catalogue(session, managers)
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
    plans.refresh_every_next_at(db.session)
    db.session.commit()
    echo(f"  interests' next interactions: {time.perf_counter() - summarised:.1f} s")
    summarised = time.perf_counter()
    positions.rebuild_all(db.session)
    echo(f"  list positions: {time.perf_counter() - summarised:.1f} s")
    summarised = time.perf_counter()
    report_tables.rebuild_all()
    echo(f"  report tables: {time.perf_counter() - summarised:.1f} s")
    bulk_load.analyze(echo)
    echo(f"Done in {time.perf_counter() - started:.1f} s")
    return counts



def _load(clients: int, seed: int, catalogue: references.Catalogue, started: float, echo
          ) -> dict[str, int]:
    """Everything in one transaction: a failed or interrupted load leaves nothing behind."""
    with db.engine.connect() as connection:
        writer = bulk_load.writer_for(connection)
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
                indexes = bulk_load.secondary_indexes(connection)
                foreign_keys = bulk_load.foreign_keys(connection)
                for table, name, _definition in foreign_keys:
                    connection.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
                for name, _sql in indexes:
                    connection.exec_driver_sql(f'DROP INDEX "{name}"')
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
                connection.exec_driver_sql("SET LOCAL maintenance_work_mem = '512MB'")
            generator = _Generator(catalogue, writer, seed, bulk_load.next_ids(connection), clients)
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
            bulk_load.fix_sequences(connection)
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
        finally:
            writer.end_load()
            connection.commit()
    return dict(generator.counts) if generator else {}
