"""Reminders by e-mail, when SMTP is configured (CRM_SMTP_URL), in each user's language,
as plain text and HTML.

    smtp://user:password@mail.example.com:587?starttls=1
    smtps://user:password@mail.example.com:465
    smtp://127.0.0.1:8025                          (no login, no encryption)

Who chose notices at once gets each overdue notice by e-mail when it is made; everyone
gets the morning digest, and whoever chose the digest finds in it the notices not sent
before. A notice is marked sent only once its message was accepted: one the server
refused is tried again by the next run, and the failure is the run's error.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import smtplib
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Optional
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy import select, update

from app.database import db
from app.models import CrmUser, Notification, NotificationSetting, utcnow
from app.services import notifications
from app.services.errors import DomainError
from app.services.unit_of_work import unit_of_work

log = logging.getLogger(__name__)

# Notices older than this are not sent any more: news of yesterday's overdue call, not
# of last month's.
RETRY_WITHIN = dt.timedelta(days=1)


class MailFailed(DomainError):
    """The SMTP server could not be reached or refused a message."""

    status = 502
    code = "mail_failed"


def configured() -> bool:
    return bool(current_app.config.get("CRM_SMTP_URL"))


def _server() -> smtplib.SMTP:
    url = urlsplit(current_app.config["CRM_SMTP_URL"])
    options = {key: values[-1] for key, values in parse_qs(url.query).items()}
    timeout = float(options.get("timeout", 20))
    if url.scheme == "smtps":
        server: smtplib.SMTP = smtplib.SMTP_SSL(url.hostname, url.port or 465, timeout=timeout)
    elif url.scheme == "smtp":
        server = smtplib.SMTP(url.hostname, url.port or 25, timeout=timeout)
        if options.get("starttls") in ("1", "true", "yes"):
            server.starttls()
    else:
        raise MailFailed(gettext("CRM_SMTP_URL must start with smtp:// or smtps://."))
    if url.username:
        server.login(unquote(url.username), unquote(url.password or ""))
    return server


def send(messages: list[EmailMessage]) -> int:
    """Send messages over one connection; answers how many were accepted. Raises
    MailFailed (after sending what it could) when the server fails."""
    if not messages:
        return 0
    sent = 0
    try:
        with _server() as server:
            for message in messages:
                server.send_message(message)
                sent += 1
    except (OSError, smtplib.SMTPException) as error:
        log.warning("e-mail not sent: %s", error)
        raise MailFailed(gettext("The mail server did not accept the e-mail: %(error)s",
                                 error=error)) from error
    return sent


def _message(to: str, subject: str, text: str, html_body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config.get("CRM_MAIL_FROM") or "Voronka CRM <noreply@localhost>"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="voronka.local")
    message.set_content(text)
    message.add_alternative(html_body, subtype="html")
    return message


def message_with_file(to: str, subject: str, text: str, filename: str, content: bytes,
                      mimetype: str) -> EmailMessage:
    """A plain-text message with one file attached (a price list sent to a client)."""
    message = EmailMessage()
    message["From"] = current_app.config.get("CRM_MAIL_FROM") or "Voronka CRM <noreply@localhost>"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="voronka.local")
    message.set_content(text)
    maintype, subtype = mimetype.split("/", 1)
    message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return message


def _base_url() -> str:
    return (current_app.config.get("CRM_BASE_URL") or "").rstrip("/")


def record_path(notification: Notification) -> str:
    """Where a reminder leads: its record's page, or the list of the work it is about."""
    if notification.kind in ("digest", "overdue_team"):
        return "/interactionview/list/?worklist=overdue" if notification.kind == "overdue_team" \
            else "/interactionview/list/?worklist=today"
    if notification.kind == "export":
        return f"/exports/#export-{notification.record_id}"
    if notification.kind == "absence":
        return f"/absences/#absence-{notification.record_id}"
    if notification.kind == "handover":
        handed = notification.payload or {}
        if handed.get("interest"):
            return "/interestview/list/?worklist=my_open_interests"
        if handed.get("inquiry") and not handed.get("interaction"):
            return "/inquiryview/list/?worklist=new_inquiries"
        if handed.get("client") and not handed.get("interaction"):
            return "/clientview/list/"
        return "/interactionview/list/"
    return f"/{notification.entity}view/show/{notification.record_id}"


class _Recipient:
    def __init__(self, user: CrmUser, setting: Optional[NotificationSetting]):
        self.user = user
        self.delivery = setting.delivery if setting else "digest"
        self.language = (setting.language if setting and setting.language else
                         current_app.config.get("BABEL_DEFAULT_LOCALE", "ru"))

    @property
    def address(self) -> str:
        return formataddr((str(self.user), self.user.email))


def _recipients(user_ids) -> dict[int, _Recipient]:
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    settings = {row.user_id: row for row in db.session.execute(
        select(NotificationSetting).where(NotificationSetting.user_id.in_(ids))).scalars()}
    users = db.session.execute(
        select(CrmUser).where(CrmUser.id.in_(ids), CrmUser.active.is_(True),
                              CrmUser.email.is_not(None))).scalars()
    return {user.id: _Recipient(user, settings.get(user.id)) for user in users if user.email}


def _render(notes: list[Notification], heading: str) -> tuple[str, str]:
    """(plain text, HTML) of a list of reminders under a heading, in the current language."""
    base = _base_url()
    lines = [heading, ""]
    items = []
    for note in notes:
        link = base + record_path(note)
        title, details = notifications.title(note), notifications.details(note)
        lines += [f"• {title}", f"  {details}" if details else "", f"  {link}", ""]
        items.append(
            f'<li style="margin-bottom:10px"><a href="{html.escape(link)}" '
            f'style="color:#2563eb;font-weight:600">{html.escape(title)}</a>'
            + (f'<div style="color:#475569">{html.escape(details)}</div>' if details else "")
            + "</li>")
    lines.append(gettext("Open Voronka CRM to see them all: %(url)s", url=base + "/notifications/"))
    text = "\n".join(line for line in lines if line is not None)
    all_notes = gettext("All notifications")
    body = (f'<div style="font-family:Arial,sans-serif;font-size:14px;color:#0f172a">'
            f'<h2 style="font-size:18px">{html.escape(heading)}</h2>'
            f'<ul style="padding-left:18px">{"".join(items)}</ul>'
            f'<p><a href="{html.escape(base)}/notifications/">'
            f'{html.escape(all_notes)}</a></p></div>')
    return text, body


def _mark_sent(ids: list[int], when: dt.datetime) -> None:
    if ids:
        with unit_of_work():
            db.session.execute(update(Notification).where(Notification.id.in_(ids))
                               .values(emailed_at=when))


def _unsent(now: dt.datetime, kinds=None):
    query = select(Notification).where(Notification.emailed_at.is_(None),
                                       Notification.created_at >= now - RETRY_WITHIN)
    if kinds is not None:
        query = query.where(Notification.kind.in_(kinds))
    return query.order_by(Notification.user_id, Notification.id)


def send_at_once(now: dt.datetime) -> int:
    """E-mail the overdue notices not sent yet to the users who want notices at once."""
    if not configured():
        return 0
    kinds = [kind.code for kind in notifications.KINDS if kind.emailed and kind.code != "digest"]
    pending = list(db.session.execute(_unsent(now, kinds)).scalars())
    recipients = _recipients(note.user_id for note in pending)
    by_user: dict[int, list[Notification]] = {}
    for note in pending:
        recipient = recipients.get(note.user_id)
        if recipient is not None and recipient.delivery == "instant":
            by_user.setdefault(note.user_id, []).append(note)
    return _send_each(by_user, recipients, now, lambda notes: gettext("Overdue: %(num)d",
                                                                      num=len(notes)))


def send_digests(day: dt.date, now: dt.datetime) -> int:
    """E-mail each user's digest of `day`; to whoever chose the digest, with the notices
    not sent before."""
    if not configured():
        return 0
    pending = list(db.session.execute(_unsent(now)).scalars())
    digests = {note.user_id: note for note in pending
               if note.kind == "digest" and note.day == day}
    recipients = _recipients(digests)
    by_user: dict[int, list[Notification]] = {}
    for note in pending:
        recipient = recipients.get(note.user_id)
        if recipient is None:
            continue
        if note is digests[note.user_id]:
            by_user.setdefault(note.user_id, []).insert(0, note)
        elif note.kind != "digest" and recipient.delivery == "digest":
            by_user.setdefault(note.user_id, []).append(note)
    return _send_each(by_user, recipients, now,
                      lambda notes: gettext("Your day in Voronka CRM, %(day)s",
                                            day=day.strftime("%d.%m.%Y")))


def _send_each(by_user: dict[int, list[Notification]], recipients: dict[int, _Recipient],
               now: dt.datetime, subject_of) -> int:
    """One e-mail per user, in their language; each user's notices are marked sent as soon
    as their message is accepted."""
    sent = 0
    failure: Optional[MailFailed] = None
    for user_id, notes in by_user.items():
        recipient = recipients[user_id]
        with force_locale(recipient.language):
            subject = subject_of(notes)
            text, body = _render(notes, subject)
            message = _message(recipient.address, subject, text, body)
        try:
            send([message])
        except MailFailed as error:
            failure = error
            continue
        _mark_sent([note.id for note in notes], utcnow())
        sent += 1
    if failure is not None:
        raise failure
    return sent
