"""What the list page renders once and keeps (the search form, the menu) follows the data
and rights it shows; the pager, page sizes, headers and row buttons link where FAB's do."""

from __future__ import annotations

import html
import json
import re
from urllib.parse import parse_qsl, urlsplit

from sqlalchemy import select

from app.models import Contact, CrmUser
from tests.factories import dictionary_item
from tests.helpers import text_of
from tests.volume import bulk_clients


def search_form(response) -> tuple[dict[str, str], dict[str, str]]:
    """The labels and the HTML of the search fields, as the page hands them to FAB's
    filter script."""
    page = text_of(response)
    match = re.search(r"new AdminFilters\('#filter_form', (\{.*?\}), (\{.*?\}),", page, re.S)
    assert match, "no search form on the page"
    return json.loads(match.group(1)), json.loads(match.group(2))


def search_fields(response) -> dict[str, str]:
    return search_form(response)[1]


def hrefs(page: str, css: str) -> list[str]:
    block = re.search(rf'<ul class="[^"]*{css}[^"]*">(.*?)</ul>', page, re.S)
    assert block, f"no {css} on the page"
    return [html.unescape(h) for h in re.findall(r'href="([^"#]+)"', block.group(1))]


def test_the_search_form_lists_a_new_directory_item_at_once(admin_client, dbx):
    assert "Shipbuilding" not in search_fields(admin_client.get("/clientview/list/"))["industry"]
    dictionary_item(dbx, "industry", "Shipbuilding")
    assert "Shipbuilding" in search_fields(admin_client.get("/clientview/list/"))["industry"]


def test_the_search_form_follows_a_renamed_user(admin_client, dbx):
    assert "Zebrovsky" not in search_fields(
        admin_client.get("/clientview/list/"))["responsible"]
    def rename(last_name: str) -> None:
        with dbx.session() as session:  # as the application changes a user: through the ORM
            session.execute(select(CrmUser).where(CrmUser.username == "manager_b")
                            ).scalar_one().last_name = last_name
            session.commit()

    rename("Zebrovsky")
    try:
        assert "Zebrovsky" in search_fields(
            admin_client.get("/clientview/list/"))["responsible"]
    finally:
        rename("Test")  # the users outlive a test: the next ones know them by this name


def test_the_search_form_is_in_the_users_language(admin_client):
    labels, fields = search_form(admin_client.get("/clientview/list/"))
    admin_client.get("/lang/en")
    english_labels, english_fields = search_form(admin_client.get("/clientview/list/"))
    admin_client.get("/lang/ru")
    assert (labels["responsible"], english_labels["responsible"]) == ("Ответственный",
                                                                      "Responsible")
    assert 'placeholder="Наименование"' in fields["name"]
    assert 'placeholder="Name"' in english_fields["name"]


def test_templates_and_row_buttons_follow_a_language_switch(admin_client, dbx):
    """The page's own strings (templates, row buttons) are translated per request."""
    bulk_clients(dbx, 2)
    russian = text_of(admin_client.get("/clientview/list/"))
    admin_client.get("/lang/en")
    english = text_of(admin_client.get("/clientview/list/"))
    admin_client.get("/lang/ru")
    again = text_of(admin_client.get("/clientview/list/"))
    assert "Записей:" in russian and 'title="Изменить запись"' in russian
    assert "Record Count" in english and 'title="Edit record"' in english
    assert "Записей:" in again and "Record Count" not in again


def test_the_pager_keeps_every_filter_value_and_changes_only_the_page(admin_client, dbx):
    bulk_clients(dbx, 80)
    url = "/clientview/list/?_flt_0_name=Клиент&_flt_0_name=Клиент 0000&psize_ClientView=25"
    page = text_of(admin_client.get(url))
    links = hrefs(page, "pagination")
    assert links, page
    for link in links:
        args = parse_qsl(urlsplit(link).query)
        assert args.count(("_flt_0_name", "Клиент")) == 1
        assert args.count(("_flt_0_name", "Клиент 0000")) == 1
        assert ("psize_ClientView", "25") in args
        assert len([k for k, _ in args if k == "page_ClientView"]) == 1
    pages = [dict(parse_qsl(urlsplit(link).query))["page_ClientView"] for link in links]
    assert "1" in pages and "0" not in pages[1:]  # the next page; the first page is current


def test_page_sizes_and_column_headers_link_to_the_same_list(admin_client, dbx):
    bulk_clients(dbx, 60)
    page = text_of(admin_client.get("/clientview/list/?_oc_ClientView=inn&_od_ClientView=asc"))
    sizes = hrefs(page, "dropdown-menu\" role=\"menu")
    assert {dict(parse_qsl(urlsplit(s).query))["psize_ClientView"] for s in sizes} >= {"25", "50"}
    header = re.search(r'<th><a href="([^"]+)">[^<]*<i class="fa fa-chevron-up', page)
    assert header, "the ordered column shows its direction"
    args = dict(parse_qsl(urlsplit(html.unescape(header.group(1))).query))
    assert args == {"_oc_ClientView": "inn", "_od_ClientView": "desc"}


def test_row_buttons_follow_the_users_rights(admin_client, client_as, dbx):
    ids = bulk_clients(dbx, 3, responsible=["manager"])
    admin_page = text_of(admin_client.get("/clientview/list/"))
    for pk in ids:
        assert f'href="/clientview/show/{pk}"' in admin_page
        assert f'href="/clientview/edit/{pk}"' in admin_page
        assert f'data-url="/clientview/delete/{pk}"' in admin_page
    readonly_page = text_of(client_as("readonly").get("/clientview/list/"))
    assert f'href="/clientview/show/{ids[0]}"' in readonly_page
    assert "/clientview/edit/" not in readonly_page
    assert "crm-delete" not in readonly_page


def test_a_related_list_links_keep_the_master_record(admin_client, dbx):
    client_id = bulk_clients(dbx, 1)[0]
    contact_id = dbx.add(Contact(client_id=client_id, name="Ivan Related",
                                 responsible_id=dbx.user_id("admin")))
    # The client's card lists its contacts its own way; its edit page has the related lists.
    page = text_of(admin_client.get(f"/clientview/edit/{client_id}"))
    assert f"/contactview/show/{contact_id}?_flt_0_client={client_id}" in html.unescape(page)
