"""The calendar (app.services.calendar) as a page: a user's planned interactions, tasks and
meetings by day, week and month, and as a list, drawn by FullCalendar (vendored,
app/static/vendor/fullcalendar) from a JSON endpoint; an item dragged or resized to another
time is rescheduled (version-checked); an empty slot clicked plans a new interaction there.
A head of department chooses a manager of the subtree, or sees them side by side for a day
or a week (a hand-written grid: FullCalendar's resource views are not free).

FullCalendar is given the company's wall-clock time as if it were UTC (its `timeZone:
"UTC"`), so that every user sees the company's time zone whatever their browser's."""

from __future__ import annotations

import datetime as dt

from flask import abort, g, jsonify, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import get_locale, gettext

from app.database import db
from app.models import CrmUser
from app.services import bounds, calendar
from app.services.clock import (
    FIRST_DAY,
    LAST_DAY,
    UnreadableTime,
    company_tz,
    local_today,
    parse_typed,
    to_local,
    to_local_many,
    to_utc,
    utcnow,
)
from app.services.errors import DomainError, RecordInvalid


def _wall(moment: dt.datetime, local=to_local) -> str:
    """Naive UTC -> the company's wall-clock time, as FullCalendar reads it."""
    return local(moment).replace(microsecond=0).isoformat()


def _from_wall(text: str, field: str) -> dt.datetime:
    """What FullCalendar sends (wall-clock time, marked UTC or not) -> naive UTC."""
    value = (text or "").strip().replace("Z", "")
    try:
        moment = dt.datetime.fromisoformat(value[:19] if len(value) > 10 else value)
        if moment.tzinfo is not None:
            moment = moment.replace(tzinfo=None)
        if not FIRST_DAY <= moment.date() <= LAST_DAY:
            raise ValueError(value)
        return to_utc(moment)
    except (ValueError, OverflowError):
        raise RecordInvalid({field: [gettext(
            "A date (2026-12-01) or a date and time (2026-12-01T09:00:00+03:00) is "
            "expected.")]}) from None


def _refused(error: DomainError):
    return jsonify(code=error.code, message=error.message,
                   errors={k: [str(m) for m in v] for k, v in error.errors.items()}), \
        error.status


def event_of(item: calendar.Item, now: dt.datetime, today=None, show: str = None,
             local=to_local) -> dict:
    """An item as a FullCalendar event: coloured by its type and its state (`today`: the
    day's bounds, `show`: the record pages' URL without its key, `local`: to_local_many(),
    when there are many)."""
    interaction = item.interaction
    state = calendar.state_of(item, now, today)
    title = interaction.subject
    if item.client or item.interest:
        title = f"{title} · {item.client or item.interest}"
    return {"id": str(interaction.id), "title": title, "start": _wall(item.start, local),
            "end": _wall(item.end, local),
            "url": f"{show}{interaction.id}" if show else url_for(
                "InteractionView.show", pk=interaction.id),
            "classNames": [f"crm-cal-type-{item.type_code or 'other'}",
                           f"crm-cal-{state}"],
            "editable": interaction.status == "planned",
            "extendedProps": {"version": interaction.version, "state": state,
                              "type": item.type_name or "", "place": interaction.place or "",
                              "responsible_id": interaction.responsible_id}}


def _user_arg(default: int) -> int:
    if "user" not in request.args or request.args.get("user") == "":
        return default
    user = bounds.as_key(CrmUser.id, request.args["user"])
    if user is None:
        abort(404)
    return user


def _day_arg() -> dt.date:
    day = request.args.get("day")
    if not day:
        return local_today()
    try:
        return parse_typed(day, with_time=False)
    except UnreadableTime:
        abort(400)


def load_of(user_id, day: dt.date) -> dict:
    """A day's load: how many items and which, as the planning forms show it."""
    items = calendar.day_items(user_id, day)
    user = db.session.get(CrmUser, user_id) if user_id is not None else None
    if not items:
        text = gettext("%(who)s has nothing planned on this day.", who=user or "—")
    else:
        text = gettext("%(who)s has %(count)d planned on this day.", who=user or "—",
                       count=len(items))
    return {"count": len(items), "text": text,
            "items": [{"id": item.interaction.id, "time": _wall(item.start)[11:16],
                       "end": _wall(item.end)[11:16], "subject": item.interaction.subject}
                      for item in items[:20]]}


class CalendarView(BaseView):
    """Whoever may read interactions opens it (app.entities.crm: a page of the interaction);
    moving an item needs the right to change it."""

    route_base = "/calendar"
    default_view = "index"
    method_permission_name = {"index": "list", "events": "list", "team": "list",
                              "load": "list", "move": "edit"}

    @expose("/")
    @has_access
    def index(self):
        user_id = _user_arg(g.user.id)
        team = calendar.team()
        chosen = next((user for user in team if user.id == user_id), None)
        if chosen is None and user_id != g.user.id:
            abort(404)  # a calendar the user may not read is not found
        locale = str(get_locale() or "en")
        offset = int(dt.datetime.now(company_tz()).utcoffset().total_seconds() // 60)
        view = request.args.get("view")
        return self.render_template(
            "crm/calendar.html", title=gettext("Calendar"), team=team,
            user_id=user_id, chosen=chosen or g.user,
            config={"events": url_for("CalendarView.events", user=user_id),
                    "move": url_for("CalendarView.move", pk=0)[:-1],
                    "add": url_for("InteractionView.add"),
                    "back": url_for("CalendarView.index", user=user_id),
                    "locale": "ru" if locale.startswith("ru") else "en",
                    "offset": offset,
                    "view": view if view in ("timeGridDay", "timeGridWeek",
                                             "dayGridMonth", "listWeek") else
                    "timeGridWeek",
                    "date": request.args.get("date") or local_today().isoformat(),
                    "mine": user_id == g.user.id, "user": user_id,
                    "texts": {"busy": gettext("Busy at that time:"),
                              "anyway": gettext("Move it anyway?"),
                              "moved": gettext("Moved."),
                              "failed": gettext("Not moved:")}})

    @expose("/events")
    @has_access
    def events(self):
        """The user's items in [start, end) as FullCalendar's events."""
        user_id = _user_arg(g.user.id)
        try:
            start = _from_wall(request.args.get("start", ""), "start")
            end = _from_wall(request.args.get("end", ""), "end")
            items, _ = calendar.period_items(start, end, user_id)
        except DomainError as error:
            return _refused(error)
        now = utcnow()
        today, show = calendar.today_bounds(now), url_for("InteractionView.show", pk=0)[:-1]
        local = to_local_many()
        return jsonify([event_of(item, now, today, show, local) for item in items])

    @expose("/move/<int:pk>", methods=["POST"])
    @has_access
    def move(self, pk):
        """Reschedule an item to `start` (wall-clock time) for `minutes`, at the `version`
        seen; without `confirm`, a clash with someone's busy time answers 409 "busy" with
        the clashes for the user to accept."""
        key = bounds.as_key(calendar.Interaction.id, pk)
        interaction = calendar.editable(key) if key is not None else None
        if interaction is None:
            return jsonify(code="not_found", message=gettext(
                "The interaction is not found, or you may not change it.")), 404
        try:
            start = _from_wall(request.form.get("start", ""), "start")
            minutes = request.form.get("minutes", type=int)
            calendar.check_length(minutes)
            if request.form.get("confirm") != "1":
                length = calendar.duration_of(minutes or interaction.planned_minutes,
                                              interaction.type.code if interaction.type
                                              else None)
                clashes = calendar.conflicts(
                    [interaction.responsible_id,
                     *[p.user_id for p in interaction.participants]],
                    start, start + length, excluding=interaction.id)
                if clashes:
                    return jsonify(code="busy", message=gettext("Busy at that time:"),
                                   conflicts=[calendar.describe(c) for c in clashes]), 409
            calendar.reschedule(interaction, start, planned_minutes=minutes,
                                seen_version=request.form.get("version"))
        except DomainError as error:
            db.session.rollback()
            return _refused(error)
        return jsonify(ok=True, message=gettext("Moved."), version=interaction.version)

    @expose("/load")
    @has_access
    def load(self):
        """{"count", "text", "items"}: a user's planned items on a day (`day`, ISO)."""
        return jsonify(load_of(_user_arg(g.user.id), _day_arg()))

    @expose("/team")
    @has_access
    def team(self):
        """The managers the user may read side by side: a day by hours, or a week by days."""
        span = "week" if request.args.get("span") == "week" else "day"
        day = _day_arg()
        if span == "week":
            day = day - dt.timedelta(days=day.weekday())
        days = [day + dt.timedelta(days=i) for i in range(7 if span == "week" else 1)]
        start = to_utc(dt.datetime.combine(days[0], dt.time.min))
        end = to_utc(dt.datetime.combine(days[-1] + dt.timedelta(days=1), dt.time.min))
        people = calendar.team()
        by_user = calendar.side_by_side([user.id for user in people], start, end)
        now = utcnow()
        today_bounds = calendar.today_bounds(now)
        # The working day, widened to whatever is planned earlier or later.
        local_of = to_local_many()
        starts = [local_of(item.start).hour for items in by_user.values() for item in items]
        hours = list(range(min([8, *starts]), max([20, *starts]) + 1))
        grid = {}
        for user in people:
            for item in by_user.get(user.id, []):
                local = local_of(item.start)
                hour = min(max(local.hour, hours[0]), hours[-1]) if span == "day" else None
                key = (user.id, local.date(), hour)
                grid.setdefault(key, []).append(
                    {"item": item, "state": calendar.state_of(item, now, today_bounds),
                     "time": local.strftime("%H:%M"),
                     "end": local_of(item.end).strftime("%H:%M")})
        step = dt.timedelta(days=7 if span == "week" else 1)
        return self.render_template(
            "crm/calendar_team.html", title=gettext("Team calendar"), span=span,
            days=days, hours=hours, people=people, grid=grid, by_user=by_user,
            today=local_today(), show=url_for("InteractionView.show", pk=0)[:-1],
            previous=(days[0] - step).isoformat(),
            following=(days[0] + step).isoformat())
