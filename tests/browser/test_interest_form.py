"""The interest form in a real browser: the stage box offers the chosen pipeline's stages
only, and follows the pipeline when the user picks another one."""

from __future__ import annotations

from playwright.sync_api import expect


def _pipelines(live_server):
    """{pipeline id: [its open stage ids]} with a second pipeline made for this test (a new
    interest starts in an open stage: won and lost are not offered)."""
    from app.database import db
    from app.models import Pipeline, Stage

    with live_server.app.app_context():
        if not db.session.query(Pipeline).filter_by(name="Сервисные работы").count():
            service = Pipeline(name="Сервисные работы", sort=90)
            db.session.add(service)
            db.session.flush()
            for sort, name in enumerate(["Диагностика", "Ремонт"], start=1):
                db.session.add(Stage(name=name, pipeline_id=service.id, kind="open", sort=sort))
            db.session.commit()
        found = {p.id: (p.name, [s.id for s in p.stages if s.kind == "open"], p.is_default)
                 for p in db.session.query(Pipeline)}
        db.session.remove()
    return found


def _offered(page) -> list[int]:
    return [int(v) for v in page.locator("#stage option").evaluate_all(
        "options => options.map(o => o.value).filter(v => v && v !== '__None')")]


def _choose_select2(page, field_id: str, label: str) -> None:
    page.locator(f"#{field_id} + .select2-container .select2-selection").click()
    page.locator(".select2-container--open .select2-results__option",
                 has_text=label).first.click()
    expect(page.locator(f"#select2-{field_id}-container")).to_contain_text(label)


def test_stage_box_follows_the_pipeline(logged_in, live_server, shot):
    pipelines = _pipelines(live_server)
    default_id = next(pid for pid, (_n, _s, is_default) in pipelines.items() if is_default)
    service_id = next(pid for pid, (name, _s, _d) in pipelines.items()
                      if name == "Сервисные работы")
    page = logged_in
    page.goto("/interestview/add")

    _choose_select2(page, "pipeline", pipelines[default_id][0])
    assert _offered(page) == pipelines[default_id][1]

    _choose_select2(page, "pipeline", "Сервисные работы")
    assert _offered(page) == pipelines[service_id][1]
    # The stage moves to the new pipeline's first stage.
    assert page.locator("#stage").input_value() == str(pipelines[service_id][1][0])
    expect(page.locator("#select2-stage-container")).to_contain_text("Диагностика")
    page.locator("#stage + .select2-container .select2-selection").click()
    expect(page.locator(".select2-container--open .select2-results__option")).to_have_count(
        len(pipelines[service_id][1]))
    shot("stages-of-the-chosen-pipeline")
    page.keyboard.press("Escape")

    _choose_select2(page, "pipeline", pipelines[default_id][0])
    assert _offered(page) == pipelines[default_id][1]
    assert page.js_errors == [], page.js_errors


def test_select_boxes_speak_russian_and_take_the_cursor(logged_in, shot):
    page = logged_in
    page.goto("/lang/ru")
    page.goto("/interestview/add")
    page.locator("#client + .select2-container .select2-selection").click()
    search = page.locator(".select2-container--open .select2-search__field")
    expect(search).to_be_focused()
    expect(page.locator(".select2-container--open .select2-results__message")).to_contain_text(
        "Пожалуйста, введите")
    shot("client-search-in-russian")
    page.keyboard.type("«")  # a quote in a company's name is searched, not an error
    expect(page.locator(".select2-container--open .select2-results__option")).not_to_have_count(
        0)
    page.keyboard.press("Escape")


def test_the_calendar_speaks_the_page_language(logged_in):
    page = logged_in
    for language, month_names in (("ru", ("Январь", "Февраль", "Март", "Апрель", "Май", "Июнь",
                                          "Июль", "Август", "Сентябрь", "Октябрь", "Ноябрь",
                                          "Декабрь")),
                                  ("en", ("January", "February", "March", "April", "May",
                                          "June", "July", "August", "September", "October",
                                          "November", "December"))):
        page.goto(f"/lang/{language}")
        page.goto("/interactionview/add")
        page.locator("#planned_at").click()
        calendar = page.locator(".flatpickr-calendar.open")
        expect(calendar).to_be_visible()
        month = calendar.locator(".flatpickr-current-month .cur-month, "
                                 ".flatpickr-monthDropdown-months").first
        text = month.inner_text() if month.evaluate("e => e.tagName") != "SELECT" else \
            month.evaluate("e => e.options[e.selectedIndex].text")
        assert text.strip() in month_names, (language, text)
        weekday = calendar.locator(".flatpickr-weekday").first.inner_text().strip()
        assert weekday in ({"Пн"} if language == "ru" else {"Mon"}), weekday
        page.keyboard.press("Escape")
    assert page.js_errors == [], page.js_errors


def test_a_meetings_contact_persons_follow_the_client_chosen(logged_in, live_server):
    """On a new interaction's form, the client's contact persons are offered as participants
    as soon as the client is chosen, without saving first."""
    from app.database import db
    from app.models import Client, Contact

    with live_server.app.app_context():
        client = db.session.query(Client).filter_by(name="ООО «Встреча-Тест»").one_or_none()
        if client is None:
            client = Client(name="ООО «Встреча-Тест»", kind="company")
            db.session.add(client)
            db.session.flush()
            db.session.add_all([Contact(name="Ирина Участникова", client_id=client.id),
                                Contact(name="Олег Участников", client_id=client.id)])
            db.session.commit()
        db.session.remove()
    page = logged_in
    page.goto("/interactionview/add")
    assert page.locator("#participant_contacts option").count() == 0
    page.locator("#client + .select2-container .select2-selection").click()
    page.locator(".select2-container--open .select2-search__field").type("Встреча-Тест")
    page.locator(".select2-container--open .select2-results__option",
                 has_text="Встреча-Тест").first.click()
    expect(page.locator("#participant_contacts option")).to_have_count(2)
    assert sorted(page.locator("#participant_contacts option").all_inner_texts()) == [
        "Ирина Участникова", "Олег Участников"]
    assert page.js_errors == [], page.js_errors
