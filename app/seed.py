"""The data every company starts with: the system directory items and the default
pipeline with its stages. Plain data, defined once: `flask crm init`
(app.services.setup.ensure_reference_data), the demo company and the data generator all
start from it; the demo adds its own items after these.
"""

from __future__ import annotations

# kind -> [(code, name, points, colour)], in the order they are listed (sort 10, 20, …).
SYSTEM_DIRECTORY: dict[str, list[tuple[str, str, int, str | None]]] = {
    "interaction_type": [
        ("call", "Звонок", 2, None),
        ("meeting", "Встреча", 8, None),
        ("email", "Письмо", 1, None),
        ("message", "Сообщение", 1, None),
        ("task", "Задача", 1, None),
    ],
    "lost_reason": [
        ("price", "Не устроила цена", 0, None),
        ("competitor", "Выбрали конкурента", 0, None),
        ("no_need", "Потребность отпала", 0, None),
    ],
    "source": [
        ("website", "Сайт", 0, None),
        ("referral", "Рекомендация", 0, None),
        ("exhibition", "Выставка", 0, None),
        ("cold_call", "Холодный звонок", 0, None),
    ],
}

# (pipeline name, [(stage name, kind, colour, requires a registered client)]); the won and
# lost stages are the system's own.
DEFAULT_PIPELINE = ("Продажи", [
    # name, kind, colour, requires a registered client, probability %, days in the stage
    ("Первый контакт", "open", "#5bc0de", False, 10, 7),
    ("Обсуждение условий", "open", "#337ab7", False, 30, 14),
    ("Заключение договора", "open", "#f0ad4e", True, 60, 14),
    ("Ожидание оплаты", "open", "#9b59b6", True, 80, 10),
    ("Завершение сделки", "open", "#1abc9c", True, 90, 7),
    ("Успешно реализовано", "won", "#5cb85c", True, 100, None),
    ("Провалено", "lost", "#d9534f", False, 0, None),
])
