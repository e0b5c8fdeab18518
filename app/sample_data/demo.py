"""The demo company: a small, complete CRM to try Voronka on.

`create_demo_company()` is run once by `flask crm init` on a fresh database. It builds a
department tree with a supervisor, two sales managers and a support specialist, the
"Продажи" and "Сопровождение" pipelines, every kind of directory item, a price list, about
25 clients with contacts, about 30 interests spread over every stage of both pipelines
with their planned and done interactions, inquiries and the company's own requisites.
Every record passes `records.validate()` and everything is written in one commit.

The data is the same on every run (a fixed random seed); only the dates follow the clock,
so that there is always something overdue, something due today and something ahead.

`ensure_catalogue()` (directory items, pipelines, price list) is shared with the data
generator: it adds what is missing and leaves what exists alone.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any, Optional

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
    ProductGroup,
    Stage,
)
from app.rules.validation import (
    make_valid_account,
    make_valid_corr_account,
    make_valid_inn,
    make_valid_ogrn,
    make_valid_ogrnip,
)
from app.seed import DEFAULT_PIPELINE, SYSTEM_DIRECTORY
from app.services import records, setup
from app.services.actor import acting_as
from app.services.clock import local_day_bounds_utc, local_today, to_utc, utcnow

SEED = 20260401
ACTIVITY_NORM = 48

# --- Reference data ------------------------------------------------------------------------

SUPPORT_PIPELINE = ("Сопровождение", [
    # name, kind, colour, requires a registered client
    ("Получение запроса", "open", "#5bc0de", False),
    ("Анализ проблемы", "open", "#337ab7", True),
    ("Разработка решения", "open", "#f0ad4e", True),
    ("Применение решения", "open", "#9b59b6", True),
    ("Подтверждение удовлетворенности клиента", "open", "#1abc9c", True),
    ("Решено", "won", "#5cb85c", True),
    ("Не решено", "lost", "#d9534f", False),
])

# kind -> [(code, name, points, colour)], listed after the system items of app.seed;
# items that exist (same kind and code) are kept.
DIRECTORY = {
    "source": [
        ("incoming_call", "Входящий звонок", 0, None),
        ("advertising", "Контекстная реклама", 0, None),
        ("social", "Социальные сети", 0, None),
        ("mailing", "E-mail рассылка", 0, None),
        ("tender", "Тендерная площадка", 0, None),
    ],
    "contact_type": [
        ("client", "Клиент", 0, None),
        ("prospect", "Потенциальный клиент", 0, None),
        ("partner", "Партнёр", 0, None),
        ("supplier", "Поставщик", 0, None),
        ("competitor", "Конкурент", 0, None),
    ],
    "industry": [
        ("construction", "Строительство", 0, None),
        ("manufacturing", "Производство", 0, None),
        ("retail", "Розничная торговля", 0, None),
        ("wholesale", "Оптовая торговля", 0, None),
        ("it", "Информационные технологии", 0, None),
        ("logistics", "Транспорт и логистика", 0, None),
        ("agro", "Сельское хозяйство", 0, None),
        ("healthcare", "Медицина и фармацевтика", 0, None),
        ("education", "Образование", 0, None),
        ("finance", "Финансы и страхование", 0, None),
        ("horeca", "Гостиницы и рестораны", 0, None),
        ("energy", "Энергетика", 0, None),
    ],
    "company_size": [
        ("micro", "Микропредприятие (до 15 человек)", 0, None),
        ("small", "Малое (16–100 человек)", 0, None),
        ("medium", "Среднее (101–250 человек)", 0, None),
        ("large", "Крупное (более 250 человек)", 0, None),
    ],
    "deal_type": [
        ("new", "Новая продажа", 0, None),
        ("repeat", "Повторная продажа", 0, None),
        ("upsell", "Расширение", 0, None),
        ("renewal", "Продление договора", 0, None),
        ("service", "Сервисное обслуживание", 0, None),
    ],
    "inquiry_type": [
        ("price", "Запрос цены", 0, None),
        ("consultation", "Консультация", 0, None),
        ("order", "Заказ", 0, None),
        ("support", "Техническая поддержка", 0, None),
        ("complaint", "Претензия", 0, None),
        ("partnership", "Предложение о сотрудничестве", 0, None),
    ],
    "interaction_type": [
        ("presentation", "Презентация", 6, None),
    ],
    "lost_reason": [
        ("no_budget", "Нет бюджета", 0, None),
        ("no_answer", "Клиент не выходит на связь", 0, None),
    ],
    "service_type": [
        ("supply", "Поставка оборудования", 0, None),
        ("software", "Поставка ПО", 0, None),
        ("implementation", "Внедрение", 0, None),
        ("maintenance", "Техническое обслуживание", 0, None),
        ("consulting", "Консалтинг", 0, None),
        ("training", "Обучение", 0, None),
    ],
    "tag": [
        ("vip", "VIP", 0, "#d9534f"),
        ("key", "Ключевой клиент", 0, "#f0ad4e"),
        ("tender", "Тендер", 0, "#337ab7"),
        ("urgent", "Срочно", 0, "#c9302c"),
        ("partner", "Партнёр", 0, "#5cb85c"),
        ("region", "Регион", 0, "#5bc0de"),
    ],
    "call_status": [
        ("answered", "Дозвонились", 0, "#5cb85c"),
        ("no_answer", "Не отвечает", 0, "#f0ad4e"),
        ("busy", "Занято", 0, "#f0ad4e"),
        ("callback", "Просили перезвонить", 0, "#5bc0de"),
        ("wrong_number", "Неверный номер", 0, "#d9534f"),
    ],
}

# group name, parent group name, sort
PRODUCT_GROUPS = [
    ("Оборудование", None, 10),
    ("Серверы и СХД", "Оборудование", 11),
    ("Сетевое оборудование", "Оборудование", 12),
    ("Рабочие места", "Оборудование", 13),
    ("Программное обеспечение", None, 20),
    ("Услуги", None, 30),
]

# sku, name, group, unit, price
PRODUCTS = [
    ("SRV-R250", "Сервер стоечный 1U, 2×Xeon, 128 ГБ", "Серверы и СХД", "шт", "684500.00"),
    ("SRV-T150", "Сервер башенный для малого офиса", "Серверы и СХД", "шт", "248900.00"),
    ("STO-NAS8", "Сетевое хранилище на 8 дисков", "Серверы и СХД", "шт", "189000.00"),
    ("STO-HDD16", "Жёсткий диск 16 ТБ для СХД", "Серверы и СХД", "шт", "38400.00"),
    ("NET-SW48", "Коммутатор управляемый 48 портов", "Сетевое оборудование", "шт", "96700.00"),
    ("NET-SW24", "Коммутатор управляемый 24 порта", "Сетевое оборудование", "шт", "54300.00"),
    ("NET-AP6", "Точка доступа Wi-Fi 6", "Сетевое оборудование", "шт", "18900.00"),
    ("NET-FW200", "Межсетевой экран для филиала", "Сетевое оборудование", "шт", "142000.00"),
    ("WS-LAPTOP", "Ноутбук 15,6\" для офиса", "Рабочие места", "шт", "78900.00"),
    ("WS-PC", "Системный блок офисный", "Рабочие места", "шт", "52400.00"),
    ("WS-MON27", "Монитор 27\"", "Рабочие места", "шт", "24600.00"),
    ("WS-TSD", "Терминал сбора данных", "Рабочие места", "шт", "46800.00"),
    ("SW-1C-5", "1С:Предприятие, лицензия на 5 рабочих мест", "Программное обеспечение",
     "шт", "28700.00"),
    ("SW-AV-1Y", "Антивирус, лицензия на 1 год", "Программное обеспечение", "лиц.", "2350.00"),
    ("SW-BACKUP", "Система резервного копирования, лицензия", "Программное обеспечение",
     "лиц.", "64000.00"),
    ("SW-VMS", "Видеоаналитика, лицензия на 16 камер", "Программное обеспечение", "лиц.",
     "112000.00"),
    ("SVC-INSTALL", "Монтаж и пусконаладка", "Услуги", "час", "3500.00"),
    ("SVC-SCS", "Монтаж СКС, за порт", "Услуги", "порт", "2800.00"),
    ("SVC-TRAIN", "Обучение пользователей, группа до 10 человек", "Услуги", "день",
     "45000.00"),
    ("SVC-SLA", "Абонентское обслуживание, месяц", "Услуги", "мес.", "85000.00"),
    ("SVC-AUDIT", "ИТ-аудит инфраструктуры", "Услуги", "шт", "120000.00"),
]

# --- People --------------------------------------------------------------------------------

MALE_FIRST_NAMES = ["Александр", "Алексей", "Андрей", "Антон", "Артём", "Борис", "Вадим",
                    "Валерий", "Виктор", "Владимир", "Вячеслав", "Григорий", "Денис",
                    "Дмитрий", "Евгений", "Егор", "Иван", "Игорь", "Илья", "Кирилл",
                    "Константин", "Леонид", "Максим", "Михаил", "Никита", "Николай", "Олег",
                    "Павел", "Роман", "Руслан", "Сергей", "Станислав", "Степан", "Тимур",
                    "Фёдор", "Юрий", "Ярослав"]
FEMALE_FIRST_NAMES = ["Алина", "Анастасия", "Анна", "Валентина", "Валерия", "Вера",
                      "Виктория", "Галина", "Дарья", "Екатерина", "Елена", "Елизавета",
                      "Ирина", "Карина", "Кристина", "Ксения", "Лариса", "Любовь",
                      "Людмила", "Марина", "Мария", "Надежда", "Наталья", "Нина", "Оксана",
                      "Ольга", "Полина", "Светлана", "Софья", "Татьяна", "Юлия"]
# Male forms; female forms are derived by `female_surname`.
SURNAMES = ["Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов",
            "Михайлов", "Новиков", "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев",
            "Семёнов", "Егоров", "Павлов", "Козлов", "Степанов", "Николаев", "Орлов",
            "Андреев", "Макаров", "Никитин", "Захаров", "Зайцев", "Соловьёв", "Борисов",
            "Яковлев", "Григорьев", "Романов", "Воробьёв", "Сергеев", "Кузьмин", "Фролов",
            "Александров", "Дмитриев", "Королёв", "Гусев", "Киселёв", "Ильин", "Максимов",
            "Поляков", "Сорокин", "Виноградов", "Ковалёв", "Белов", "Медведев", "Антонов",
            "Тарасов", "Жуков", "Баранов", "Филиппов", "Комаров", "Давыдов", "Беляев",
            "Герасимов", "Богданов", "Осипов", "Сидоров", "Матвеев", "Титов", "Марков",
            "Миронов", "Крылов", "Куликов", "Карпов", "Власов", "Мельников", "Денисов",
            "Гаврилов", "Тихонов", "Казаков", "Афанасьев", "Данилов", "Савельев", "Тимофеев",
            "Фомин", "Чернов", "Абрамов", "Мартынов", "Ефимов", "Федотов", "Щербаков",
            "Назаров", "Калинин", "Исаев", "Чернышёв", "Быков", "Маслов", "Родионов",
            "Коновалов", "Лазарев", "Воронин", "Климов", "Филатов", "Пономарёв", "Голубев",
            "Кудрявцев", "Прохоров", "Наумов", "Потапов", "Журавлёв", "Овчинников", "Трофимов",
            "Леонов", "Соболев", "Ермаков", "Колесников", "Гончаров", "Емельянов", "Никифоров",
            "Грачёв", "Котов", "Гришин", "Ефремов", "Архипов", "Громов", "Кириллов", "Малышев",
            "Панов", "Моисеев", "Румянцев", "Акимов", "Кондратьев", "Бирюков", "Горбунов",
            "Анисимов", "Ерёмин", "Тихомиров", "Галкин", "Лукьянов", "Михеев", "Скворцов",
            "Юдин", "Белоусов", "Нестеров", "Симонов", "Прокофьев", "Харитонов", "Князев",
            "Цветков", "Левин", "Митрофанов", "Воронов", "Аксёнов", "Софронов", "Мальцев",
            "Логинов", "Горшков", "Савин", "Краснов", "Майоров", "Демидов", "Елисеев",
            "Рыбаков", "Сафонов", "Плотников", "Демин", "Хохлов", "Жданов", "Островский",
            "Вишневский", "Покровский", "Добровольский", "Горский", "Луговой", "Толстой"]
PATRONYMIC_BASES = ["Александров", "Алексеев", "Андреев", "Борисов", "Вадимов", "Викторов",
                    "Владимиров", "Геннадьев", "Григорьев", "Дмитриев", "Евгеньев", "Иванов",
                    "Игорев", "Константинов", "Максимов", "Михайлов", "Николаев", "Олегов",
                    "Павлов", "Петров", "Романов", "Сергеев", "Станиславов", "Фёдоров",
                    "Юрьев", "Ильич", "Кузьмич"]

POSITIONS = ["Генеральный директор", "Коммерческий директор", "Финансовый директор",
             "Главный бухгалтер", "Бухгалтер", "Руководитель ИТ-отдела", "Системный администратор",
             "Менеджер по закупкам", "Начальник отдела закупок", "Офис-менеджер",
             "Главный инженер", "Заместитель директора", "Начальник производства",
             "Руководитель отдела продаж", "Юрист", "Специалист по тендерам",
             "Начальник склада", "Директор по развитию"]

_TRANSLIT = {"а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
             "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
             "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
             "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
             "я": "ya"}


def translit(text: str) -> str:
    """Latin letters for an e-mail address or a domain: 'Фёдоров' -> 'fedorov'."""
    out = []
    for ch in text.lower():
        if ch in _TRANSLIT:
            out.append(_TRANSLIT[ch])
        elif ch.isascii() and (ch.isalnum() or ch in "-."):
            out.append(ch)
        elif ch in " _":
            out.append("-")
    return "".join(out).strip("-")


def female_surname(surname: str) -> str:
    if surname.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return surname + "а"
    if surname.endswith("ский"):
        return surname[:-4] + "ская"
    if surname.endswith("ой"):
        return surname[:-2] + "ая"
    return surname


def patronymic(base: str, female: bool) -> str:
    if base.endswith("ич"):
        return base[:-2] + "ична" if female else base
    return base + ("на" if female else "ич")


def person_name(rng: random.Random) -> tuple[str, str, str, bool]:
    """(first name, surname, patronymic, female) of a random Russian person."""
    female = rng.random() < 0.45
    first = rng.choice(FEMALE_FIRST_NAMES if female else MALE_FIRST_NAMES)
    surname = rng.choice(SURNAMES)
    if female:
        surname = female_surname(surname)
    return first, surname, patronymic(rng.choice(PATRONYMIC_BASES), female), female


# city -> (INN region code, phone area code, postcode prefix)
CITIES = {
    "Москва": ("77", "495", "1"),
    "Санкт-Петербург": ("78", "812", "19"),
    "Екатеринбург": ("66", "343", "620"),
    "Новосибирск": ("54", "383", "630"),
    "Казань": ("16", "843", "420"),
    "Нижний Новгород": ("52", "831", "603"),
    "Краснодар": ("23", "861", "350"),
    "Ростов-на-Дону": ("61", "863", "344"),
    "Самара": ("63", "846", "443"),
    "Челябинск": ("74", "351", "454"),
    "Воронеж": ("36", "473", "394"),
    "Пермь": ("59", "342", "614"),
    "Красноярск": ("24", "391", "660"),
    "Иркутск": ("38", "3952", "664"),
    "Мурманск": ("51", "8152", "183"),
    "Калининград": ("39", "4012", "236"),
}

STREETS = ["Ленина", "Мира", "Советская", "Гагарина", "Пушкина", "Садовая", "Лесная",
           "Московская", "Заводская", "Набережная", "Промышленная", "Кирова", "Победы",
           "Октябрьская", "Строителей", "Центральная", "Молодёжная", "Комсомольская"]


def digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


def city_phone(rng: random.Random, city: str) -> str:
    """A landline number of the city, formatted the way people write it."""
    area = CITIES[city][1]
    rest = rng.choice("2345679") + digits(rng, 9 - len(area))
    if len(rest) == 7:
        return f"+7 ({area}) {rest[:3]}-{rest[3:5]}-{rest[5:]}"
    return f"+7 ({area}) {rest[:2]}-{rest[2:4]}-{rest[4:]}"


def mobile_phone(rng: random.Random) -> str:
    code = rng.choice(["900", "903", "905", "909", "910", "915", "916", "921", "925", "926",
                       "950", "960", "977", "985", "999"])
    rest = rng.choice("123456789") + digits(rng, 6)
    return f"+7 {code} {rest[:3]}-{rest[3:5]}-{rest[5:]}"


def address(rng: random.Random, city: str) -> str:
    postcode = (CITIES[city][2] + digits(rng, 6))[:6]
    office = f", офис {rng.randint(1, 12)}{rng.randint(0, 9)}{rng.randint(1, 9)}" \
        if rng.random() < 0.6 else ""
    return f"{postcode}, г. {city}, ул. {rng.choice(STREETS)}, д. {rng.randint(1, 120)}{office}"


def company_requisites(rng: random.Random, city: str) -> tuple[str, str, str]:
    """(INN, KPP, OGRN) of a company registered in the city."""
    region = CITIES[city][0]
    inspection = f"{rng.randint(1, 35):02d}"
    inn = make_valid_inn(region + inspection + digits(rng, 5))
    kpp = inn[:4] + "01001"
    ogrn = make_valid_ogrn("1" + f"{rng.randint(2, 23):02d}" + region + inspection
                           + digits(rng, 5))
    return inn, kpp, ogrn


def person_requisites(rng: random.Random, city: str, sole_proprietor: bool
                      ) -> tuple[str, Optional[str]]:
    """(12-digit INN, OGRNIP or None) of a person."""
    region = CITIES[city][0]
    inn = make_valid_inn(region + f"{rng.randint(1, 35):02d}" + digits(rng, 6), 12)
    ogrnip = None
    if sole_proprietor:
        ogrnip = make_valid_ogrnip("3" + f"{rng.randint(4, 23):02d}" + region + digits(rng, 9))
    return inn, ogrnip


# --- The demo company ----------------------------------------------------------------------

DEMO_USERS = [
    # login, role, first name, last name, position, phone, department
    ("supervisor", "Supervisor", "Ольга", "Смирнова", "Руководитель отдела продаж",
     "+7 (495) 120-45-01", "Продажи"),
    ("manager1", "Manager", "Алексей", "Кузнецов", "Менеджер по продажам",
     "+7 (495) 120-45-02", "Продажи"),
    ("manager2", "Manager", "Марина", "Волкова", "Менеджер по продажам",
     "+7 (495) 120-45-03", "Продажи"),
    ("support1", "Manager", "Дмитрий", "Орлов", "Специалист по сопровождению",
     "+7 (495) 120-45-04", "Сопровождение"),
]

# key, kind, name, city, industry, size, domain, responsible, tags, ABC, XYZ, sole proprietor
DEMO_CLIENTS = [
    ("stroyinvest", "company", "ООО «СтройИнвест»", "Москва", "construction", "medium",
     "stroyinvest.ru", "manager1", ["key"], "A", "X", False),
    ("utz", "company", "АО «Уральский трубный завод»", "Екатеринбург", "manufacturing",
     "large", "utz-ural.ru", "supervisor", ["vip", "key"], "A", "X", False),
    ("technomarket", "company", "ООО «ТехноМаркет»", "Санкт-Петербург", "retail", "small",
     "technomarket-spb.ru", "manager2", [], "B", "Y", False),
    ("zarya", "company", "ООО «Агрохолдинг Заря»", "Краснодар", "agro", "large",
     "agro-zarya.ru", "manager1", ["region"], "A", "Y", False),
    ("medline", "company", "ООО «МедЛайн»", "Новосибирск", "healthcare", "medium",
     "medline-nsk.ru", "manager2", ["region"], "B", "X", False),
    ("logisticpro", "company", "ООО «ЛогистикПро»", "Москва", "logistics", "medium",
     "logisticpro.ru", "manager1", [], "B", "X", False),
    ("sevenergo", "company", "ПАО «Северная энергетическая компания»", "Мурманск", "energy",
     "large", "sevenergo.ru", "supervisor", ["vip", "tender"], "A", "Y", False),
    ("grandvolga", "company", "ООО «Гранд Отель Волга»", "Нижний Новгород", "horeca", "small",
     "grandhotel-volga.ru", "manager2", [], "C", "Z", False),
    ("alfasoft", "company", "ООО «Альфа-Софт»", "Казань", "it", "small", "alfa-soft.ru",
     "manager1", ["partner"], "B", "Y", False),
    ("meridian", "company", "ООО «Торговый дом Меридиан»", "Ростов-на-Дону", "wholesale",
     "medium", "td-meridian.ru", "manager2", ["key"], "A", "X", False),
    ("finalliance", "company", "АО «Финансовый альянс»", "Москва", "finance", "medium",
     "finalliance.ru", "manager1", ["tender"], "C", "Z", False),
    ("kodschool", "company", "ООО «Школа программирования Код»", "Самара", "education",
     "micro", "kod-school.ru", "manager2", [], "C", "Z", False),
    ("promavto", "company", "ООО «ПромАвтоматика»", "Челябинск", "manufacturing", "medium",
     "promavtomatika.ru", "manager1", ["region"], "B", "Y", False),
    ("baikaltrans", "company", "ООО «Байкал-Транс»", "Иркутск", "logistics", "small",
     "baikal-trans.ru", "manager2", ["region"], "C", "Y", False),
    ("ecoferma", "company", "ООО «ЭкоФерма»", "Воронеж", "agro", "micro", "ecoferma36.ru",
     "manager1", [], "C", "Z", False),
    ("digital", "company", "ООО «Цифровые решения»", "Москва", "it", "medium",
     "digital-solutions.ru", "manager2", ["partner"], "B", "X", False),
    ("sibstroy", "company", "ООО «СибСтройМонтаж»", "Красноярск", "construction", "medium",
     "sibstroymontazh.ru", "manager1", [], "B", "Y", False),
    ("zdorovie", "company", "ООО «Аптечная сеть Здоровье»", "Пермь", "healthcare", "large",
     "apteka-zdorovie.ru", "supervisor", ["key", "urgent"], "A", "Y", False),
    ("vkusno", "company", "АО «Ресторанная группа Вкусно»", "Санкт-Петербург", "horeca",
     "medium", "vkusno-group.ru", "manager2", [], "B", "Z", False),
    ("baltic", "company", "АО «Балтик Шиппинг»", "Калининград", "logistics", "large",
     "baltic-shipping.ru", "manager1", ["tender"], "A", "Y", False),
    ("ivanov", "person", "ИП Иванов Сергей Петрович", "Москва", "retail", "micro", None,
     "manager1", [], "C", "Y", True),
    ("petrova", "person", "ИП Петрова Анна Викторовна", "Самара", "education", "micro", None,
     "manager2", [], "C", "Z", True),
    ("sidorov", "person", "Сидоров Михаил Андреевич", "Воронеж", "it", None, None,
     "manager1", [], "C", "Z", False),
    ("nikolaeva", "person", "ИП Николаева Елена Игоревна", "Казань", "horeca", "micro", None,
     "manager2", ["urgent"], "C", "Y", True),
    ("fedorov", "person", "Фёдоров Павел Олегович", "Екатеринбург", None, None, None,
     "manager1", [], "C", "Z", False),
]

# pipeline, stage, title, client key or potential client, amount, service type, deal type,
# source, responsible, products [(sku, quantity, discount %)], flagged, tags, lost reason
DEMO_INTERESTS = [
    ("Продажи", "Первый контакт", "Поставка серверов для нового ЦОД", "stroyinvest",
     "2400000", "supply", "new", "exhibition", "manager1",
     [("SRV-R250", 3, 5), ("STO-NAS8", 1, 0)], True, ["key"], None),
    ("Продажи", "Первый контакт", "Лицензии 1С на 50 рабочих мест",
     {"name": "Григорий Лебедев", "company": "ООО «Вектор Плюс»",
      "email": "g.lebedev@vector-plus.ru", "phone": "+7 (812) 334-21-90"},
     "287000", "software", "new", "website", "manager2", [("SW-1C-5", 10, 0)], False, [], None),
    ("Продажи", "Первый контакт", "Внедрение CRM для отдела продаж", "technomarket",
     "650000", "implementation", "new", "advertising", "manager2", [], False, [], None),
    ("Продажи", "Обсуждение условий", "Оснащение офиса сетевым оборудованием",
     {"name": "Ирина Ковалёва", "company": "Архитектурное бюро «Линия»",
      "email": "kovaleva@liniya-arch.ru", "phone": "+7 916 204-77-31"},
     "410000", "supply", "new", "referral", "manager1",
     [("NET-SW24", 2, 0), ("NET-AP6", 8, 3)], False, [], None),
    ("Продажи", "Обсуждение условий", "Модернизация АСУ ТП цеха № 3", "utz", "5800000",
     "implementation", "repeat", "referral", "supervisor", [], True, ["vip"], None),
    ("Продажи", "Обсуждение условий", "Автоматизация кассовой зоны", "ivanov", "185000",
     "supply", "new", "incoming_call", "manager1", [("WS-PC", 2, 0), ("WS-MON27", 2, 0)],
     False, [], None),
    ("Продажи", "Обсуждение условий", "ИТ-аутсорсинг для сети аптек", "zdorovie", "1020000",
     "maintenance", "new", "tender", "supervisor", [("SVC-SLA", 12, 10)], False,
     ["tender"], None),
    ("Продажи", "Заключение договора", "Видеонаблюдение на складах", "zarya", "1350000",
     "supply", "new", "exhibition", "manager1", [("SW-VMS", 4, 0), ("SVC-INSTALL", 60, 0)],
     False, [], None),
    ("Продажи", "Заключение договора", "Медицинская информационная система", "medline",
     "2900000", "implementation", "new", "tender", "manager2", [], False, ["tender"], None),
    ("Продажи", "Заключение договора", "Монтаж СКС в новом корпусе", "promavto", "560000",
     "implementation", "repeat", "cold_call", "manager1", [("SVC-SCS", 200, 0)], False, [],
     None),
    ("Продажи", "Ожидание оплаты", "Терминалы сбора данных для склада", "logisticpro",
     "468000", "supply", "repeat", "incoming_call", "manager1", [("WS-TSD", 10, 0)], False,
     [], None),
    ("Продажи", "Ожидание оплаты", "Резервное копирование и СХД", "sevenergo", "1740000",
     "supply", "upsell", "referral", "supervisor",
     [("STO-NAS8", 2, 0), ("STO-HDD16", 16, 5), ("SW-BACKUP", 4, 0)], True, ["vip"], None),
    ("Продажи", "Завершение сделки", "Wi-Fi для гостиницы", "grandvolga", "212000", "supply",
     "new", "website", "manager2", [("NET-AP6", 10, 0), ("SVC-INSTALL", 6, 0)], False, [],
     None),
    ("Продажи", "Завершение сделки", "Обучение сотрудников работе с 1С", "petrova", "90000",
     "training", "new", "social", "manager2", [("SVC-TRAIN", 2, 0)], False, [], None),
    ("Продажи", "Успешно реализовано", "Ноутбуки для отдела разработки", "alfasoft",
     "789000", "supply", "repeat", "referral", "manager1", [("WS-LAPTOP", 10, 0)], False, [],
     None),
    ("Продажи", "Успешно реализовано", "Складская система WMS", "meridian", "1260000",
     "implementation", "new", "exhibition", "manager2", [], False, ["key"], None),
    ("Продажи", "Успешно реализовано", "Продление лицензий антивируса", "digital", "117500",
     "software", "renewal", "mailing", "manager2", [("SW-AV-1Y", 50, 0)], False, [], None),
    ("Продажи", "Провалено", "Защищённый удалённый доступ", "finalliance", "640000",
     "supply", "new", "tender", "manager1", [("NET-FW200", 3, 0)], False, ["tender"],
     "competitor"),
    ("Продажи", "Провалено", "Компьютерный класс", "kodschool", "830000", "supply", "new",
     "website", "manager2", [], False, [], "price"),
    ("Продажи", "Провалено", "IP-телефония для офиса",
     {"name": "Оксана Белова", "company": "", "email": "o.belova@mail.ru",
      "phone": "+7 903 418-52-66"},
     "95000", "supply", "new", "social", "manager2", [], False, [], "no_need"),
    ("Сопровождение", "Получение запроса", "Не печатают сетевые принтеры", "stroyinvest",
     "0", "maintenance", "service", "incoming_call", "support1", [], False, ["urgent"], None),
    ("Сопровождение", "Получение запроса", "Ошибки синхронизации склада", "sibstroy", "0",
     "maintenance", "service", "incoming_call", "support1", [], False, [], None),
    ("Сопровождение", "Анализ проблемы", "Медленная работа 1С после обновления", "meridian",
     "0", "maintenance", "service", "incoming_call", "support1", [], False, ["key"], None),
    ("Сопровождение", "Анализ проблемы", "Замена вышедшего из строя коммутатора", "baltic",
     "54300", "maintenance", "service", "incoming_call", "support1", [("NET-SW24", 1, 0)],
     True, ["urgent"], None),
    ("Сопровождение", "Разработка решения", "Сбой резервного копирования", "sevenergo", "0",
     "maintenance", "service", "incoming_call", "support1", [], False, ["vip"], None),
    ("Сопровождение", "Разработка решения", "Рабочее место бухгалтера", "sidorov", "15000",
     "consulting", "service", "incoming_call", "support1", [], False, [], None),
    ("Сопровождение", "Применение решения", "Настройка VPN для филиала", "baikaltrans",
     "24000", "maintenance", "service", "incoming_call", "support1", [], False, [], None),
    ("Сопровождение", "Подтверждение удовлетворенности клиента",
     "Обновление прошивки терминалов", "logisticpro", "0", "maintenance", "service",
     "incoming_call", "support1", [], False, [], None),
    ("Сопровождение", "Решено", "Восстановление доступа к почте", "vkusno", "0",
     "maintenance", "service", "incoming_call", "support1", [], False, [], None),
    ("Сопровождение", "Решено", "Перенос базы данных на новый сервер", "alfasoft", "42000",
     "maintenance", "service", "incoming_call", "support1", [], False, [], None),
    ("Сопровождение", "Не решено", "Интеграция кассы с сайтом", "nikolaeva", "0",
     "consulting", "service", "incoming_call", "support1", [], False, [], "no_answer"),
]

# What a planned interaction of an interest in an open stage is about, by stage position.
NEXT_STEPS = {
    "Продажи": [
        ("call", "Звонок: выяснить потребность и бюджет"),
        ("presentation", "Презентация решения и коммерческое предложение"),
        ("task", "Подготовить и согласовать договор"),
        ("call", "Звонок: напомнить об оплате счёта"),
        ("meeting", "Встреча: подписание актов, передача оборудования"),
    ],
    "Сопровождение": [
        ("call", "Звонок: уточнить детали обращения"),
        ("task", "Диагностика на стороне клиента"),
        ("task", "Подготовить план работ и согласовать окно"),
        ("meeting", "Выезд инженера: применение решения"),
        ("call", "Звонок: подтвердить, что проблема решена"),
    ],
}

DONE_RESULTS = [
    "Клиент подтвердил интерес, запросил коммерческое предложение.",
    "Обсудили сроки и бюджет, договорились о следующем шаге.",
    "Отправили КП, клиент взял время на согласование.",
    "Провели встречу с ЛПР, требования зафиксированы.",
    "Клиент прислал реквизиты, готовим договор.",
    "Согласовали спецификацию, есть замечания по срокам поставки.",
    "Уточнили техническое задание, ответ передан инженерам.",
]

# channel, inquiry type, sender name, company, phone, e-mail, text, hours ago, manager
DEMO_NEW_INQUIRIES = [
    ("call", "price", "Виктор Астахов", "ООО «Сервис-Плюс»", "+7 (495) 781-20-11", None,
     "Нужна цена на 20 ноутбуков для офиса, поставка в течение месяца.", 1, "manager1"),
    ("email", "consultation", "Елена Маркова", "Городская клиника № 5", None,
     "markova@gkb5.ru", "Просим проконсультировать по защите персональных данных пациентов.",
     3, "manager2"),
    ("web", "order", "Андрей Гуров", "", "+7 926 550-14-32", "gurov.a@yandex.ru",
     "Заявка с сайта: сервер для 1С на 30 пользователей.", 5, None),
    ("messenger", "support", "Павел Рябов", "ООО «Байкал-Транс»", "+7 950 118-40-72", None,
     "Не работает VPN в филиале в Ангарске со вчерашнего вечера.", 2, "support1"),
    ("visit", "partnership", "Светлана Ершова", "ООО «ИнтерСофт»", "+7 (843) 290-33-15",
     "ershova@intersoft.ru", "Предлагают партнёрство по внедрению систем видеонаблюдения.",
     26, None),
    ("call", "complaint", "Николай Зуев", "ООО «ЛогистикПро»", "+7 (495) 640-72-18", None,
     "Два терминала сбора данных не включаются после обновления.", 7, "support1"),
    ("web", "price", "Юлия Широкова", "Кафе «Уют»", "+7 (861) 245-09-87", "uyut.cafe@mail.ru",
     "Сколько стоит Wi-Fi для кафе на 40 посадочных мест?", 30, None),
    ("email", "order", "Тимур Хасанов", "ООО «ТатАгроСнаб»", None, "hasanov@tatagrosnab.ru",
     "Просим выставить счёт на 5 коммутаторов на 24 порта.", 44, "manager1"),
]


class DemoDataInvalid(RuntimeError):
    """A demo record did not pass validation: the demo data itself is wrong."""


class _Builder:
    """Adds validated records to the session and remembers them."""

    def __init__(self, session):
        self.session = session
        self.created: list[Any] = []

    def add(self, obj):
        try:
            records.validate(obj)
        except records.RecordInvalid as error:
            raise DemoDataInvalid(f"{type(obj).__name__} {obj!s}: {error.errors}") from error
        self.session.add(obj)
        self.created.append(obj)
        return obj


def _local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """Naive UTC of a local wall-clock time of the company's time zone."""
    return to_utc(dt.datetime.combine(day, dt.time(hour, minute)))


# --- The catalogue (shared with the data generator) ---------------------------------------


def ensure_catalogue(builder: Optional[_Builder] = None) -> None:
    """Add the directory items, pipelines and price list that are missing. No commit."""
    builder = builder or _Builder(db.session)
    session = builder.session
    setup.ensure_directory(SYSTEM_DIRECTORY, builder.add, is_system=True)
    setup.ensure_directory(DIRECTORY, builder.add)
    for sort, (name, stages) in ((10, DEFAULT_PIPELINE), (20, SUPPORT_PIPELINE)):
        setup.ensure_pipeline(name, stages, builder.add, sort=sort, is_default=sort == 10)

    groups = {g.name: g for g in session.execute(select(ProductGroup)).scalars()}
    for name, parent, sort in PRODUCT_GROUPS:
        if name not in groups:
            groups[name] = builder.add(ProductGroup(name=name, parent=groups.get(parent),
                                                    sort=sort))
    skus = set(session.execute(select(Product.sku)).scalars())
    for sku, name, group, unit, price in PRODUCTS:
        if sku not in skus:
            builder.add(Product(sku=sku, name=name, group=groups[group], unit=unit,
                                price=Decimal(price), currency="RUB", is_active=True))
    session.flush()


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
        with acting_as(_admin_user_id()):
            _DemoCompany(_Builder(session), password).build()
        session.commit()
    except Exception:
        session.rollback()
        raise
    return True


class _DemoCompany:
    def __init__(self, builder: _Builder, password: str):
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
        self.build_clients()
        self.build_interests()
        self.build_inquiries()
        self.build_requisites()
        self.session.flush()
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

    # --- clients ----------------------------------------------------------------------------

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
            for step in range(done_count):
                code, subject = steps[min(step, len(steps) - 1)]
                when = (created + (until - created) * (step + 1) / (done_count + 1)
                        ).replace(second=0, microsecond=0)
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
