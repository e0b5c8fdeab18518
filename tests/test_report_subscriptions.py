"""Report subscriptions: subscribing with the page's filters, the week or month before as
the period, the next time on Monday or the 1st at 08:00 in the company's time zone, the
XLSX by e-mail as the subscriber sees it, "send now", the log of sendings, and the job."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from openpyxl import load_workbook
from sqlalchemy import select

from app.models import ReportDelivery, ReportSubscription
from app.services import report_subscriptions, report_tables
from tests.helpers import text_of
from tests.test_jobs import smtp  # noqa: F401 - the fixture of a local SMTP server
from tests.test_report_control import base  # noqa: F401 - six clients of two managers


def test_the_period_and_the_next_time_of_each_frequency(app):
    wednesday = dt.date(2026, 12, 9)
    assert report_subscriptions.period_of("weekly", wednesday) == (dt.date(2026, 11, 30),
                                                                   dt.date(2026, 12, 6))
    assert report_subscriptions.period_of("monthly", wednesday) == (dt.date(2026, 11, 1),
                                                                    dt.date(2026, 11, 30))
    with app.app_context():
        # Wednesday 9 December 12:00 in Moscow: next Monday 08:00 Moscow, 05:00 UTC.
        after = dt.datetime(2026, 12, 9, 9, 0)
        assert report_subscriptions.next_run("weekly", after) == dt.datetime(2026, 12, 14, 5)
        assert report_subscriptions.next_run("monthly", after) == dt.datetime(2027, 1, 1, 5)
        # Monday 07:59 in Moscow: today at 08:00 still comes.
        assert report_subscriptions.next_run("weekly", dt.datetime(2026, 12, 14, 4, 59)) == \
            dt.datetime(2026, 12, 14, 5)


def subscribe(client, **body):
    answer = client.post("/api/v1/report/subscription/", json=body)
    assert answer.status_code == 201, text_of(answer)
    return answer.get_json()["result"]


def test_a_subscription_sends_the_report_as_its_subscriber_sees_it(
        app, api_as, dbx, base, smtp):  # noqa: F811
    with app.app_context():
        report_tables.compute("clients", full=True)
    supervisor = api_as("supervisor")
    made = subscribe(supervisor, report="control", frequency="weekly",
                     recipients="boss@voronka.ru; deputy@voronka.ru",
                     filters={"view": "clients"})
    assert made["filters"] == {"view": "clients"}
    assert made["recipients"] == "boss@voronka.ru, deputy@voronka.ru"
    sent = supervisor.post(f"/api/v1/report/subscription/{made['id']}/send")
    assert sent.status_code == 200, text_of(sent)
    assert sent.get_json()["result"]["status"] == "sent"
    (message,) = smtp.messages
    assert message["To"] == "boss@voronka.ru, deputy@voronka.ru"
    (attachment,) = list(message.iter_attachments())
    rows = list(load_workbook(io.BytesIO(attachment.get_content())).active
                .iter_rows(values_only=True))
    assert [row[2] for row in rows[1:-1]] == [5]  # the supervisor's subtree: manager A's 5
    listed = supervisor.get("/api/v1/report/subscription/").get_json()["result"]
    assert listed[0]["deliveries"][0]["trigger"] == "now"
    # Someone else's subscription does not exist for another user.
    assert api_as("manager_b").post(
        f"/api/v1/report/subscription/{made['id']}/send").status_code == 404
    assert api_as("manager_b").delete(
        f"/api/v1/report/subscription/{made['id']}").status_code == 404


def test_the_job_sends_what_is_due_and_logs_a_failure_without_mail(app, api_as, dbx,
                                                                  base):  # noqa: F811
    made = subscribe(api_as("supervisor"), report="quality", frequency="monthly")
    with dbx.session() as s:
        subscription = s.get(ReportSubscription, made["id"])
        due = subscription.next_at
        assert subscription.recipients  # the subscriber's own e-mail
    with time_machine.travel(due.replace(tzinfo=dt.timezone.utc) + dt.timedelta(minutes=1),
                             tick=False), app.app_context():
        assert report_subscriptions.send_due() == 0  # e-mail is not set up: logged, failed
    with dbx.session() as s:
        (delivery,) = s.execute(select(ReportDelivery)).scalars().all()
        subscription = s.get(ReportSubscription, made["id"])
        assert (delivery.status, delivery.trigger) == ("failed", "schedule")
        assert "CRM_SMTP_URL" in delivery.error
        assert subscription.last_status == "failed" and subscription.next_at > due


@pytest.mark.parametrize("body, field", [
    ({"report": "horoscope", "frequency": "weekly"}, "report"),
    ({"report": "funnel", "frequency": "daily"}, "frequency"),
    ({"report": "funnel", "frequency": "weekly", "recipients": "not-an-address"},
     "recipients"),
    ({"report": "funnel", "frequency": "weekly", "filters": {"pipeline": "x"}}, "pipeline"),
])
def test_a_bad_subscription_is_refused_naming_the_field(api, body, field):
    answer = api.post("/api/v1/report/subscription/", json=body)
    assert answer.status_code == 422, text_of(answer)
    assert field in answer.get_json()["message"]


def test_subscribing_from_the_report_s_page(client_as):
    supervisor = client_as("supervisor")
    page = supervisor.get("/reports/funnel/?view=managers")
    assert "Получать по e-mail" in text_of(page)
    answer = supervisor.post("/reports/funnel/subscribe", data={
        "frequency": "weekly", "recipients": "boss@voronka.ru", "view": "managers"},
        follow_redirects=True)
    html = text_of(answer)
    assert answer.status_code == 200 and "boss@voronka.ru" in html
    assert "&#34;view&#34;: &#34;managers&#34;" in html or '"view": "managers"' in html


def test_a_subscriber_whose_report_right_was_taken_away_gets_nothing(
        app, api_as, smtp):  # noqa: F811
    made = subscribe(api_as("manager"), report="control", frequency="weekly",
                     recipients="me@voronka.ru")
    with app.app_context():
        from app.database import db
        from app.services import rights

        role = app.appbuilder.sm.find_role("Manager")
        matrix = {cell: scope for cell, scope in rights.read_matrix(role.id).items()
                  if cell[0] != "report"}
        rights.save_matrix(role, matrix)
        delivery = report_subscriptions.deliver(made["id"])  # as the job sends it
        assert delivery.status == "failed" and delivery.error  # with its reason
        db.session.remove()
    assert smtp.messages == []
