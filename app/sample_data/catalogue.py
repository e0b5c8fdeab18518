"""The reference data of the demo company and the generated data: directory items, the
support pipeline, the price list and the departments' activity norm, and
`ensure_catalogue()`, which adds what is missing and leaves what exists alone."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Optional

from sqlalchemy import select

from app.database import db
from app.models import (
    Product,
    ProductGroup,
)
from app.seed import DEFAULT_PIPELINE, SYSTEM_DIRECTORY
from app.services import records, setup

ACTIVITY_NORM = 48

SUPPORT_PIPELINE = ("Сопровождение", [
    # name, kind, colour, requires a registered client, probability %, days in the stage
    ("Получение запроса", "open", "#5bc0de", False, 20, 2),
    ("Анализ проблемы", "open", "#337ab7", True, 40, 5),
    ("Разработка решения", "open", "#f0ad4e", True, 60, 10),
    ("Применение решения", "open", "#9b59b6", True, 80, 5),
    ("Подтверждение удовлетворенности клиента", "open", "#1abc9c", True, 90, 3),
    ("Решено", "won", "#5cb85c", True, 100, None),
    ("Не решено", "lost", "#d9534f", False, 0, None),
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
    # What booking fields book (app.services.custom_types.BookingType).
    "resource": [
        ("meeting_room", "Переговорная", 0, "#5bc0de"),
        ("showroom", "Демонстрационный зал", 0, "#337ab7"),
        ("car", "Служебный автомобиль", 0, "#f0ad4e"),
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


class DemoDataInvalid(RuntimeError):
    """A demo record did not pass validation: the demo data itself is wrong."""


class Builder:
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




def ensure_catalogue(builder: Optional[Builder] = None) -> None:
    """Add the directory items, pipelines and price list that are missing. No commit."""
    builder = builder or Builder(db.session)
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


