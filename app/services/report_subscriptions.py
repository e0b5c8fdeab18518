"""Report subscriptions: a user receives a report by e-mail as an XLSX file, weekly (on
Monday morning, for the week before) or monthly (on the 1st, for the month before), with
the filters they subscribed with, seen as they see it. Each sending is logged: when, to
whom, how many rows, and the error when the mail server refused it or e-mail is not set
up. "Send now" sends at once without moving the schedule.
"""

from __future__ import annotations

import datetime as dt
import re
import traceback
from io import BytesIO
from typing import Optional

from flask_babel import force_locale, gettext
from sqlalchemy import select

from app.database import db
from app.models import SUBSCRIPTION_FREQUENCIES, CrmUser, ReportDelivery, ReportSubscription
from app.rules.validation import ValidationError, validate_email
from app.services import access, actor, exports, mail, reports
from app.services.clock import company_tz, local_today, utcnow
from app.services.errors import DomainError, NotFound, RecordInvalid
from app.services.unit_of_work import unit_of_work

SEND_AT = dt.time(8, 0)      # local time of a scheduled sending
MAX_RECIPIENTS = 20
KEPT_ARGUMENTS = ("pipeline", "department", "manager", "view", "group", "product")


def period_of(frequency: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """The period a sending on `today` reports: the week or the month before."""
    if frequency == "weekly":
        monday = today - dt.timedelta(days=today.weekday())
        return monday - dt.timedelta(days=7), monday - dt.timedelta(days=1)
    first = today.replace(day=1)
    last = first - dt.timedelta(days=1)
    return last.replace(day=1), last


def next_run(frequency: str, after: dt.datetime) -> dt.datetime:
    """The first scheduled moment (naive UTC) after `after`: Monday or the 1st, 08:00 in
    the company's time zone."""
    zone = company_tz()
    local = after.replace(tzinfo=dt.timezone.utc).astimezone(zone).replace(tzinfo=None)
    day = local.date()
    while True:
        if (frequency == "weekly" and day.weekday() == 0) or \
                (frequency == "monthly" and day.day == 1):
            moment = dt.datetime.combine(day, SEND_AT)
            if moment > local:
                return moment.replace(tzinfo=zone).astimezone(dt.timezone.utc) \
                    .replace(tzinfo=None)
        day += dt.timedelta(days=1)


def _recipients(text: Optional[str], user: CrmUser) -> str:
    parts = [p.strip() for p in re.split(r"[,;\s]+", text or "") if p.strip()]
    if not parts:
        if not user.email:
            raise RecordInvalid({"recipients": [gettext("Enter an e-mail address.")]})
        parts = [user.email]
    if len(parts) > MAX_RECIPIENTS:
        raise RecordInvalid({"recipients": [gettext("At most %(count)s addresses.",
                                                    count=MAX_RECIPIENTS)]})
    for address in parts:
        try:
            validate_email(address)
        except ValidationError as error:
            raise RecordInvalid({"recipients": [f"{address}: {gettext(error.message)}"]}) \
                from None
    return ", ".join(dict.fromkeys(parts))


def subscribe(report: str, args, frequency: str, recipients: Optional[str],
              language: str) -> ReportSubscription:
    """Subscribe the current user to `report` with the filters of `args` (the period is
    the frequency's)."""
    if report not in reports.BUILDERS:
        raise RecordInvalid({"report": [gettext("No such report.")]})
    if frequency not in SUBSCRIPTION_FREQUENCIES:
        raise RecordInvalid({"frequency": [gettext(
            "Choose %(choices)s.", choices=", ".join(SUBSCRIPTION_FREQUENCIES))]})
    if not access.can("report", "read"):
        raise DomainError(gettext("You do not have the right to do this."), code="forbidden")
    filters = reports.parse_filters(args, report)  # refuses bad filters now, not by mail
    kept = {key: value for key, value in filters.as_args().items() if key in KEPT_ARGUMENTS}
    user = db.session.get(CrmUser, actor.current_user_id())
    with unit_of_work():
        subscription = ReportSubscription(
            user_id=user.id, report=report, arguments=kept, frequency=frequency,
            recipients=_recipients(recipients, user), language=language or "ru",
            active=True, next_at=next_run(frequency, utcnow()))
        db.session.add(subscription)
    return subscription


def mine():
    """The current user's subscriptions, newest first."""
    return access.readable(ReportSubscription).order_by(ReportSubscription.id.desc())


def one(subscription_id: int) -> ReportSubscription:
    found = db.session.execute(mine().where(
        ReportSubscription.id == subscription_id)).scalar()
    if found is None:
        raise NotFound(gettext("No such subscription."))
    return found


def set_active(subscription: ReportSubscription, active: bool) -> None:
    with unit_of_work():
        subscription.active = active
        if active:
            subscription.next_at = next_run(subscription.frequency, utcnow())


def remove(subscription: ReportSubscription) -> None:
    with unit_of_work():
        db.session.delete(subscription)


def _file(subscription: ReportSubscription, today: dt.date) -> tuple[str, bytes, int]:
    """(title, XLSX bytes, rows) of the report as the subscriber sees it. The right is
    asked again: one taken away since subscribing sends nothing (the filter on figures
    alone would send an empty report as if all were well)."""
    if not access.can("report", "read"):
        raise DomainError(gettext("The subscriber may no longer read reports."))
    start, end = period_of(subscription.frequency, today)
    args = {**(subscription.arguments or {}), "start": start.isoformat(),
            "end": end.isoformat()}
    grid = reports.report(subscription.report, reports.parse_filters(args,
                                                                     subscription.report))
    buffer = BytesIO()
    exports.write_xlsx(grid.columns, grid.values(), grid.title, buffer)
    title = f"{grid.title}: {start:%d.%m.%Y}–{end:%d.%m.%Y}"
    return title, buffer.getvalue(), len(grid.rows)


def deliver(subscription_id: int, trigger: str = "schedule") -> Optional[ReportDelivery]:
    """Send one subscription now, as its user, in their language; log how it went. A
    scheduled sending also moves the subscription to its next time, whatever happened."""
    subscription = db.session.get(ReportSubscription, subscription_id)
    if subscription is None:  # deleted since the job listed it
        return None
    status, error, rows = "sent", None, 0
    try:
        with actor.acting_as(subscription.user), force_locale(subscription.language):
            if not mail.configured():
                raise DomainError(gettext("E-mail is not set up (CRM_SMTP_URL)."))
            title, content, rows = _file(subscription, local_today())
            message = mail.message_with_file(
                subscription.recipients, title,
                gettext("The report you subscribed to is attached."),
                f"{title.split(':')[0]}.xlsx", content, reports.MIME_XLSX)
            mail.send([message])
    except DomainError as refusal:
        db.session.rollback()
        status, error = "failed", refusal.message
    except Exception:  # a report that cannot be built is logged, the next ones still go
        db.session.rollback()
        status, error = "failed", traceback.format_exc()
    subscription = db.session.get(ReportSubscription, subscription_id)
    with unit_of_work():
        now = utcnow()
        delivery = ReportDelivery(subscription_id=subscription.id, sent_at=now,
                                  trigger=trigger, status=status,
                                  recipients=subscription.recipients, rows=rows, error=error)
        db.session.add(delivery)
        subscription.last_sent_at, subscription.last_status = now, status
        subscription.last_error = error
        if trigger == "schedule":
            subscription.next_at = next_run(subscription.frequency, now)
    return delivery


def send_now(subscription: ReportSubscription) -> ReportDelivery:
    return deliver(subscription.id, trigger="now")


def send_due(now: Optional[dt.datetime] = None) -> int:
    """The job: every active subscription whose time has come, sent; answers how many."""
    now = now or utcnow()
    due = list(db.session.execute(select(ReportSubscription.id).where(
        ReportSubscription.active.is_(True), ReportSubscription.next_at <= now)
        .order_by(ReportSubscription.next_at)).scalars())
    db.session.rollback()
    sent = [deliver(subscription_id) for subscription_id in due]
    return sum(1 for delivery in sent if delivery is not None and delivery.status == "sent")


def deliveries(subscription: ReportSubscription, limit: int = 10) -> list[ReportDelivery]:
    return list(db.session.execute(select(ReportDelivery).where(
        ReportDelivery.subscription_id == subscription.id).order_by(
        ReportDelivery.id.desc()).limit(limit)).scalars())
