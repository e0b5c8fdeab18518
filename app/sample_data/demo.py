"""The demo company: a small, complete CRM to try Voronka on.

`create_demo_company()` is run once by `flask crm init` on a fresh database. It builds a
department tree with a supervisor, two sales managers and a support specialist, the
"Продажи" and "Сопровождение" pipelines, every kind of directory item, a price list, about
25 clients with contacts, about 30 interests spread over every stage of both pipelines
with their planned and done interactions, inquiries and the company's own requisites.
Every record passes `records.validate()` and everything is written in one commit.

The data is the same on every run (a fixed random seed); only the dates follow the clock,
so that there is always something overdue, something due today and something ahead.

The catalogue (directory items, pipelines, price list) is app.sample_data.catalogue's, and
the names, addresses and requisites app.sample_data.people's, both shared with the data
generator.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Optional

from flask import current_app
from sqlalchemy import func, select

from app.database import db
from app.models import (
    Client,
    CompanyRequisites,
    Contact,
    CrmUser,
    Department,
    DictionaryItem,
    Inquiry,
    Interaction,
    Interest,
    InterestProduct,
    Pipeline,
    Product,
    SalesPlan,
    Stage,
    StageChange,
)
from app.rules.validation import (
    make_valid_account,
    make_valid_corr_account,
    make_valid_inn,
    make_valid_ogrn,
)
from app.sample_data.catalogue import (
    ACTIVITY_NORM,
    DIRECTORY,
    Builder,
    DemoDataInvalid,
    ensure_catalogue,
)
from app.sample_data.demo_records import (
    DEMO_CLIENTS,
    DEMO_CUSTOM_FIELDS,
    DEMO_INTERESTS,
    DEMO_NEW_INQUIRIES,
    DEMO_USERS,
    DONE_RESULTS,
    NEXT_STEPS,
)
from app.sample_data.people import (
    POSITIONS,
    address,
    city_phone,
    company_requisites,
    mobile_phone,
    person_name,
    person_requisites,
    translit,
)
from app.seed import SYSTEM_DIRECTORY
from app.services import custom_field_definitions, plans, records, report_tables
from app.services.actor import acting_as
from app.services.clock import local_day_bounds_utc, local_today, to_utc, utcnow
from app.services.unit_of_work import unit_of_work

SEED = 20260401

def _local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """Naive UTC of a local wall-clock time of the company's time zone."""
    return to_utc(dt.datetime.combine(day, dt.time(hour, minute)))



# --- The demo company ---------------------------------------------------------------------


def demo_exists() -> bool:
    session = db.session
    if session.execute(select(Department.id).where(Department.name == "Продажи")
                       .limit(1)).first():
        return True
    return session.execute(select(CrmUser.id).where(CrmUser.username == "manager1")
                           .limit(1)).first() is not None


def _admin_user_id() -> Optional[int]:
    sm = current_app.appbuilder.sm
    admin = sm.find_user(username=current_app.config.get("CRM_ADMIN_USER", "admin"))
    if admin is not None:
        return admin.id
    role = sm.find_role(current_app.config.get("AUTH_ROLE_ADMIN", "Admin"))
    if role is None:
        return None
    for user in db.session.execute(select(CrmUser).order_by(CrmUser.id)).scalars():
        if role in user.roles:
            return user.id
    return None


def create_demo_company(password: str) -> bool:
    """Create the demo company once. False (and nothing changed) when it already exists."""
    if demo_exists():
        return False
    session = db.session
    try:
        # One transaction: the commands the demo calls (its custom fields) join it.
        with acting_as(_admin_user_id()), unit_of_work():
            _DemoCompany(Builder(session), password).build()
        session.commit()
    except Exception:
        session.rollback()
        raise
    report_tables.rebuild_all()  # the reports show the demo at once, not after the job
    return True


class _DemoCompany:
    def __init__(self, builder: Builder, password: str):
        self.builder = builder
        self.session = builder.session
        self.password = password
        self.rng = random.Random(SEED)
        self.now = utcnow().replace(second=0, microsecond=0)
        self.today = local_today()
        self.users: dict[str, CrmUser] = {}
        self.clients: dict[str, Client] = {}
        self.contacts: dict[str, list[Contact]] = {}
        self.interests: list[Interest] = []

    def add(self, obj):
        return self.builder.add(obj)

    def items(self, kind: str) -> dict[str, DictionaryItem]:
        rows = self.session.execute(
            select(DictionaryItem).where(DictionaryItem.kind == kind)).scalars()
        return {item.code: item for item in rows}

    def build(self) -> None:
        ensure_catalogue(self.builder)
        self.dictionary = {kind: self.items(kind) for kind in {**SYSTEM_DIRECTORY, **DIRECTORY}}
        self.products = {p.sku: p for p in self.session.execute(select(Product)).scalars()}
        self.pipelines = {p.name: p for p in self.session.execute(select(Pipeline)).scalars()}
        self.build_organisation()
        self.build_custom_fields()
        self.build_clients()
        self.build_interests()
        self.build_inquiries()
        self.build_requisites()
        self.session.flush()
        plans.refresh_every_next_at(self.session)
        # A second look after the flush, with every key and default in place.
        for obj in self.builder.created:
            try:
                records.validate(obj)
            except records.RecordInvalid as error:
                raise DemoDataInvalid(f"{type(obj).__name__} {obj!s}: {error.errors}") \
                    from error

    # --- organisation -----------------------------------------------------------------------

    def build_organisation(self) -> None:
        sm = current_app.appbuilder.sm
        root = self.session.execute(
            select(Department).where(Department.parent_id.is_(None),
                                     Department.name == "Компания")).scalar_one_or_none()
        if root is None:
            root = self.add(Department(name="Компания", activity_norm=ACTIVITY_NORM))
        departments = {
            "Компания": root,
            "Продажи": self.add(Department(name="Продажи", parent=root,
                                           activity_norm=ACTIVITY_NORM)),
            "Сопровождение": self.add(Department(name="Сопровождение", parent=root,
                                                 activity_norm=ACTIVITY_NORM)),
        }
        self.session.flush()
        for login, role_name, first, last, position, phone, department in DEMO_USERS:
            role = sm.find_role(role_name)
            if role is None:
                raise DemoDataInvalid(f"Role {role_name} is missing: run sync_roles() first")
            user = sm.add_user(username=login, first_name=first, last_name=last,
                               email=f"{login}@voronka.local", role=role,
                               password=self.password, commit=False)
            if not user:
                raise DemoDataInvalid(f"User {login} could not be created")
            user.position = position
            user.phone = phone
            user.department_id = departments[department].id
            self.builder.created.append(user)
            self.users[login] = user
        self.session.flush()
        admin_id = _admin_user_id()
        if root.head_id is None:
            root.head_id = admin_id or self.users["supervisor"].id
        departments["Продажи"].head_id = self.users["supervisor"].id
        departments["Сопровождение"].head_id = self.users["support1"].id
        self.build_plans(departments["Продажи"])

    def build_plans(self, sales: Department) -> None:
        """This month's plans of the sales managers and of their department, which the
        funnel's "by managers" and "by departments" compare with what they won."""
        starts = local_today().replace(day=1)
        ends = starts.replace(day=28) + dt.timedelta(days=4)
        ends -= dt.timedelta(days=ends.day)
        for login, count, amount in (("manager1", 2, Decimal("1500000")),
                                     ("manager2", 3, Decimal("2500000"))):
            self.add(SalesPlan(manager=self.users[login], starts_on=starts, ends_on=ends,
                               won_count=count, won_amount=amount))
        self.add(SalesPlan(department=sales, starts_on=starts, ends_on=ends, won_count=6,
                           won_amount=Decimal("5000000")))

    # --- clients ----------------------------------------------------------------------------

    def build_custom_fields(self) -> None:
        """What a company adds to its cards first: a contract number and payment terms on
        clients, the client's budget and the date of the decision on interests."""
        for definition in DEMO_CUSTOM_FIELDS:
            custom_field_definitions.create(dict(definition))

    @staticmethod
    def client_custom(index: int, abc: Optional[str]) -> Optional[dict]:
        values = {"payment_terms": ("prepay", "net14", "net30")[index % 3]}
        if abc in ("A", "B"):
            values["contract_no"] = f"Д-2026/{index + 1:03d}"
        return values

    def interest_custom(self, index: int, amount, stage: Stage) -> Optional[dict]:
        values = {}
        if index % 2 == 0:
            values["client_budget"] = {"amount": int(Decimal(amount) * Decimal("1.2")),
                                       "currency": "RUB"}
        if stage.kind == "open" and index % 3 != 2:
            values["decision_date"] = (self.today + dt.timedelta(days=7 + index % 20)
                                       ).isoformat()
        return values or None

    def build_clients(self) -> None:
        rng = self.rng
        d = self.dictionary
        sources = ["website", "referral", "exhibition", "cold_call", "incoming_call",
                   "advertising", "tender"]
        for index, (key, kind, name, city, industry, size, domain, responsible, tags, abc,
                    xyz, sole_proprietor) in enumerate(DEMO_CLIENTS):
            if kind == "company":
                inn, kpp, ogrn = company_requisites(rng, city)
                email = f"info@{domain}"
                site = f"https://{domain}"
                phone = city_phone(rng, city)
            else:
                inn, ogrn = person_requisites(rng, city, sole_proprietor)
                kpp = None
                surname, first = name.removeprefix("ИП ").split()[:2]
                email = f"{translit(first)}.{translit(surname)}@" + \
                    rng.choice(["mail.ru", "yandex.ru", "gmail.com", "bk.ru"])
                site = None
                phone = mobile_phone(rng)
            client = self.add(Client(
                kind=kind, name=name, inn=inn, kpp=kpp, ogrn=ogrn, phone=phone, email=email,
                site=site, address=address(rng, city),
                industry=d["industry"].get(industry) if industry else None,
                size=d["company_size"].get(size) if size else None,
                contact_type=d["contact_type"]["client"] if index % 6 else
                d["contact_type"]["partner"],
                source=d["source"][sources[index % len(sources)]],
                responsible=self.users[responsible],
                tags=[d["tag"][t] for t in tags],
                abc_class=abc, xyz_class=xyz,
                comment="ИП, работает по упрощённой системе налогообложения."
                if sole_proprietor else None,
                created_on=self.now - dt.timedelta(days=400 - index * 13, hours=index),
                custom=self.client_custom(index, abc),
            ))
            self.clients[key] = client
            self.contacts[key] = self.build_contacts(client, kind, name, domain)

    def build_contacts(self, client: Client, kind: str, name: str,
                       domain: Optional[str]) -> list[Contact]:
        rng = self.rng
        contacts = []
        if kind == "person":
            contacts.append(self.add(Contact(
                client=client, name=name.removeprefix("ИП "), position="Владелец",
                phone=client.phone, email=client.email, is_key=True, responsible=client.responsible,
                birthday=dt.date(rng.randint(1965, 1995), rng.randint(1, 12),
                                 rng.randint(1, 28)))))
            if rng.random() < 0.5:
                first, surname, middle, _female = person_name(rng)
                contacts.append(self.add(Contact(
                    client=client, name=f"{surname} {first} {middle}", position="Бухгалтер",
                    phone=mobile_phone(rng), responsible=client.responsible)))
            return contacts
        positions = rng.sample(POSITIONS, 3)
        for number in range(rng.randint(1, 3)):
            first, surname, middle, _female = person_name(rng)
            contacts.append(self.add(Contact(
                client=client, name=f"{surname} {first} {middle}", position=positions[number],
                phone=mobile_phone(rng) if number or rng.random() < 0.7 else client.phone,
                email=f"{translit(first)[0]}.{translit(surname)}@{domain}",
                is_key=number == 0, responsible=client.responsible,
                birthday=dt.date(rng.randint(1962, 1998), rng.randint(1, 12),
                                 rng.randint(1, 28)) if rng.random() < 0.6 else None)))
        return contacts

    # --- interests --------------------------------------------------------------------------

    def _stage(self, pipeline: Pipeline, name: str, has_client: bool) -> Stage:
        stages = sorted(pipeline.stages, key=lambda s: (s.sort, s.id or 0))
        by_name = {s.name: s for s in stages}
        stage = by_name.get(name)
        if stage is None:
            # The pipeline was edited before the demo was made: keep the stage's kind.
            wanted = "won" if name in ("Успешно реализовано", "Решено") else \
                "lost" if name in ("Провалено", "Не решено") else "open"
            stage = next((s for s in stages if s.kind == wanted), stages[0])
        if stage.requires_client and not has_client:
            stage = next(s for s in stages if s.kind == "open" and not s.requires_client)
        return stage

    def build_interests(self) -> None:
        rng = self.rng
        d = self.dictionary
        types = d["interaction_type"]
        slot = 0  # cycles overdue / today / future over the open interests
        for index, (pipeline_name, stage_name, title, who, amount, service, deal, source,
                    responsible, lines, flagged, tags, lost_reason) in \
                enumerate(DEMO_INTERESTS):
            pipeline = self.pipelines[pipeline_name]
            client = self.clients.get(who) if isinstance(who, str) else None
            stage = self._stage(pipeline, stage_name, client is not None)
            user = self.users[responsible]
            created = self.now - dt.timedelta(days=45 - index, hours=rng.randint(0, 8))
            interest = Interest(
                title=title, pipeline=pipeline, stage=stage, amount=Decimal(amount),
                currency="RUB", responsible=user, client=client,
                service_type=d["service_type"].get(service),
                deal_type=d["deal_type"].get(deal), source=d["source"].get(source),
                flagged=flagged, tags=[d["tag"][t] for t in tags], created_on=created,
                description=f"{title}. Запрос поступил от клиента, детали — в истории "
                            "взаимодействий." if index % 3 == 0 else None,
                custom=self.interest_custom(index, amount, stage),
            )
            if not isinstance(who, str):
                interest.potential_name = who["name"]
                interest.potential_company = who["company"] or None
                interest.potential_email = who["email"]
                interest.potential_phone = who["phone"]
            if stage.kind != "open":
                interest.closed_at = (created + (self.now - created) * rng.uniform(0.6, 0.9)
                                      ).replace(second=0, microsecond=0)
                interest.closed_by = user
                if stage.kind == "lost":
                    interest.lost_reason = d["lost_reason"][lost_reason or "no_need"]
            self.add(interest)
            self.interests.append(interest)
            for sku, quantity, discount in lines:
                product = self.products.get(sku)
                if product is not None:
                    self.add(InterestProduct(interest=interest, product=product,
                                             quantity=Decimal(quantity), price=product.price,
                                             discount=Decimal(discount)))

            contact = (self.contacts.get(who) or [None])[0] if client is not None else None
            open_stages = [s for s in sorted(pipeline.stages, key=lambda s: s.sort)
                           if s.kind == "open"]
            position = open_stages.index(stage) if stage in open_stages else len(open_stages)
            steps = NEXT_STEPS.get(pipeline_name, NEXT_STEPS["Продажи"])
            # What has been done so far: one step per stage passed, the last with a result.
            done_count = max(1, position) if stage.kind != "open" else position
            until = interest.closed_at or self.now - dt.timedelta(hours=2)
            # The stages it went through: one more after each done step, then its own.
            path = open_stages[:position + 1] if stage.kind == "open" \
                else [*open_stages[:done_count], stage]
            self._enter(interest, None, path[0], "create", created, user)
            for step in range(done_count):
                code, subject = steps[min(step, len(steps) - 1)]
                when = (created + (until - created) * (step + 1) / (done_count + 1)
                        ).replace(second=0, microsecond=0)
                if step + 1 < len(path):
                    closing = stage.kind != "open" and step + 1 == len(path) - 1
                    self._enter(interest, path[step], path[step + 1],
                                "close" if closing else "move",
                                interest.closed_at if closing else when, user)
                self.add(Interaction(
                    type=types.get(code) or types["call"], subject=subject, client=client,
                    contact=contact, interest=interest, responsible=user, planned_at=when,
                    done_at=when + dt.timedelta(minutes=rng.choice([15, 30, 45, 60])),
                    status="done", result=self._result(stage, step, done_count)))
            if stage.kind == "open":
                code, subject = steps[min(position, len(steps) - 1)]
                self.add(Interaction(
                    type=types.get(code) or types["call"], subject=subject, client=client,
                    contact=contact, interest=interest, responsible=user,
                    planned_at=self._planned(slot), status="planned"))
                slot += 1
        # Client care outside any deal: done calls and a planned meeting.
        for number, key in enumerate(["utz", "zdorovie", "meridian", "baltic"]):
            client = self.clients[key]
            self.add(Interaction(
                type=types["call"], subject="Звонок: плановая проверка удовлетворённости",
                client=client, contact=self.contacts[key][0], responsible=client.responsible,
                planned_at=self.now - dt.timedelta(days=10 + number * 3),
                done_at=self.now - dt.timedelta(days=10 + number * 3) + dt.timedelta(minutes=20),
                status="done", result="Клиент доволен обслуживанием, новых задач нет."))
        client = self.clients["utz"]
        self.add(Interaction(
            type=types["meeting"], subject="Встреча: стратегическая сессия на 2027 год",
            client=client, contact=self.contacts["utz"][0], responsible=client.responsible,
            planned_at=_local(self.today + dt.timedelta(days=14), 11), status="planned"))

    def _enter(self, interest: Interest, from_stage: Optional[Stage], to_stage: Stage,
               action: str, when: dt.datetime, user) -> None:
        """A row of the interest's stage history."""
        self.add(StageChange(interest=interest, action=action, changed_at=when,
                             changed_by=user, from_stage=from_stage,
                             from_stage_name=from_stage.name if from_stage else None,
                             to_stage=to_stage, to_stage_name=to_stage.name))

    def _result(self, stage: Stage, step: int, done_count: int) -> str:
        if step == done_count - 1 and stage.kind == "won":
            return "Работы приняты клиентом, акты подписаны. Сделка закрыта."
        if step == done_count - 1 and stage.kind == "lost":
            return "Клиент отказался, причина зафиксирована."
        return DONE_RESULTS[(step + len(stage.name)) % len(DONE_RESULTS)]

    def _planned(self, slot: int) -> dt.datetime:
        """Overdue, due today or ahead, in turn: every card colour is on the kanban."""
        kind = slot % 3
        if kind == 0:  # overdue: a working hour of a past day
            return _local(self.today - dt.timedelta(days=1 + slot % 4), 10 + slot % 7)
        if kind == 1:  # due later today (local day of the company)
            # From the clock, not the minute-rounded self.now: a minute before midnight the
            # rounded time would put the call before the moment the demo was made.
            now = utcnow()
            _start, end = local_day_bounds_utc(self.today)
            return now + min((end - now) / 2, dt.timedelta(hours=3))
        return _local(self.today + dt.timedelta(days=1 + slot % 9), 9 + slot % 8, 30)

    # --- inquiries --------------------------------------------------------------------------

    def build_inquiries(self) -> None:
        types = self.dictionary["inquiry_type"]
        for channel, kind, name, company, phone, email, text, hours, manager in \
                DEMO_NEW_INQUIRIES:
            self.add(Inquiry(channel=channel, inquiry_type=types.get(kind), sender_name=name,
                             sender_company=company or None, sender_phone=phone,
                             sender_email=email, text=text, status="new",
                             received_at=self.now - dt.timedelta(hours=hours),
                             manager=self.users[manager] if manager else None))
        # Processed ones: turned into interests, linked to one, or closed without a task.
        by_title = {i.title: i for i in self.interests}
        done = [
            ("web", "order", "Лебедев Григорий", "ООО «Вектор Плюс»", "+7 (812) 334-21-90",
             "g.lebedev@vector-plus.ru", "Нужны лицензии 1С, около 50 рабочих мест.",
             "converted", "Лицензии 1С на 50 рабочих мест", 200, "manager2"),
            ("call", "support", "Сотрудник СтройИнвест", "ООО «СтройИнвест»", None, None,
             "Перестали печатать принтеры на третьем этаже.", "converted",
             "Не печатают сетевые принтеры", 20, "support1"),
            ("email", "support", "Диспетчер ЛогистикПро", "ООО «ЛогистикПро»", None,
             "it@logisticpro.ru", "Повторно: терминалы после прошивки работают нестабильно.",
             "linked", "Обновление прошивки терминалов", 60, "support1"),
            ("call", "consultation", "Ошиблись номером", None, "+7 (495) 555-01-23", None,
             "Искали службу доставки, не наш клиент.", "processed", None, 90, "manager1"),
            ("messenger", "price", "Константин Рыжов", "ООО «Рыжов и партнёры»", "+7 921 407-18-55",
             None, "Спросили прайс на серверы, от предложения отказались.", "processed", None,
             150, "manager2"),
        ]
        for channel, kind, name, company, phone, email, text, status, title, hours, manager \
                in done:
            interest = by_title.get(title) if title else None
            self.add(Inquiry(channel=channel, inquiry_type=types.get(kind), sender_name=name,
                             sender_company=company, sender_phone=phone, sender_email=email,
                             text=text, status=status,
                             received_at=self.now - dt.timedelta(hours=hours),
                             manager=self.users[manager], interest=interest,
                             client=interest.client if interest is not None else None))

    # --- our requisites ---------------------------------------------------------------------

    def build_requisites(self) -> None:
        if self.session.execute(select(func.count()).select_from(CompanyRequisites)).scalar():
            return
        bik = "044525225"
        self.add(CompanyRequisites(
            template="company",
            full_name="Общество с ограниченной ответственностью «Вектор Решения»",
            short_name="ООО «Вектор Решения»",
            inn=make_valid_inn("770841526"), kpp="770801001",
            ogrn=make_valid_ogrn("121770045128"),
            address="123112, г. Москва, Пресненская наб., д. 12, офис 4501",
            bank_name="ПАО Сбербанк", bik=bik,
            account=make_valid_account(bik, "4070281003800041526"),
            corr_account=make_valid_corr_account(bik),
            director="Соколов Андрей Викторович", is_default=True))
