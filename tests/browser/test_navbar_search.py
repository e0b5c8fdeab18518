"""The navbar's quick search in a real browser: typing a client's phone in another format
drops the client down under the box, the arrow and Enter open its card; the card shows its
open interest and offers "new interest", "plan an interaction" and "add a contact"."""

from __future__ import annotations

import datetime as dt
import re
import uuid

from helpers import as_admin
from playwright.sync_api import expect


def _make_client(server, tag: str) -> tuple[int, str]:
    """A client with a phone and an open interest; its id and the phone as a person might
    type it (another format)."""
    from app.models import Client, Interest
    from app.services import commands, sales
    from app.services.clock import utcnow

    digits = str(uuid.UUID(tag.ljust(32, "0")).int % 10_000_000).zfill(7)
    with as_admin(server.app) as pipeline:
        client = commands.create(Client(
            kind="company", name=f"ООО Поиск {tag}",
            phone=f"+7 (812) {digits[:3]}-{digits[3:5]}-{digits[5:]}"))
        sales.create_interest(
            Interest(title=f"Поставка {tag}", pipeline=pipeline, stage=pipeline.stages[0],
                     client=client, amount=1000),
            sales.Plan("Звонок", utcnow() + dt.timedelta(days=1)))
        return client.id, f"8812{digits}"


def test_the_quick_search_finds_a_client_by_phone_and_opens_its_card(logged_in, live_server,
                                                                      shot):
    page = logged_in
    tag = uuid.uuid4().hex[:8]
    pk, typed_phone = _make_client(live_server, tag)
    box = page.locator(".crm-quick-search input[name=q]")
    page.keyboard.press("/")  # the shortcut puts the cursor in the box
    expect(box).to_be_focused()
    box.type(typed_phone, delay=20)
    result = page.locator(".crm-quick-results a", has_text=f"ООО Поиск {tag}")
    expect(result).to_be_visible()
    shot("dropdown")
    box.press("ArrowDown")
    with page.expect_navigation():
        box.press("Enter")
    assert page.url.endswith(f"/clientview/show/{pk}")
    card = page.locator(".crm-client-card")
    expect(card.locator("h2")).to_have_text(f"ООО Поиск {tag}")
    expect(card.locator(".crm-client-interests")).to_contain_text(f"Поставка {tag}")
    for command in (".crm-cmd-new-interest", ".crm-cmd-plan", ".crm-cmd-add-contact"):
        expect(card.locator(command)).to_be_visible()
    shot("card")
    card.locator(".crm-cmd-add-contact").click()
    page.wait_for_url(re.compile(r"/contactview/add"))
    expect(page.locator("#client option[selected]")).to_contain_text(f"ООО Поиск {tag}")
    assert not page.js_errors, page.js_errors
