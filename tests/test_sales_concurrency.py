"""Two people move the same interest at the same moment, on a live server with real threads
(SQLite or PostgreSQL, whichever the suite uses): one move is done, the other is refused as
stale (409, `stale_version`), and nothing of the refused move is written: one stage change,
one result, one next plan."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.models import Interaction, Interest, Pipeline, Stage, StageChange
from tests import live_server
from tests.conftest import another_app
from tests.factories import CLIENT
from tests.test_concurrent_edits import Browser, run_together

ROUNDS = 3


@pytest.fixture(scope="module")
def live_url(app, database_url):
    with another_app(app, database_url, WTF_CSRF_ENABLED=True) as application:
        server, thread, url = live_server.serve(application, name="waitress-sales")
        try:
            yield url
        finally:
            live_server.stop(server, thread)


def test_two_moves_of_one_interest_at_once_one_wins_the_other_is_refused(live_url, dbx):
    pipeline = dbx.scalar(select(Pipeline.id).where(Pipeline.is_default.is_(True)))
    first, second, third = dbx.all(select(Stage.id).where(
        Stage.pipeline_id == pipeline, Stage.kind == "open").order_by(Stage.sort))[:3]
    manager = Browser(live_url, "manager").login()
    supervisor = Browser(live_url, "supervisor").login()
    for round_number in range(ROUNDS):
        client = CLIENT.create(dbx, n=950 + round_number, user="manager")
        status, answer = manager.send("POST", "/api/v1/interest/", body={
            "title": f"Гонка {round_number}", "pipeline": pipeline, "stage": first,
            "client": client, "next": {"subject": "Call", "planned_at": "2027-01-10T09:00"}})
        assert status == 201, answer
        pk, version = json.loads(answer)["id"], json.loads(answer)["version"]
        answers = {}

        def move(browser, stage, name, pk=pk, version=version, answers=answers):
            def run():
                answers[name] = browser.send(
                    "POST", f"/api/v1/interest/{pk}/move",
                    body={"stage": stage, "result": f"by {name}", "version": version,
                          "next": {"subject": f"Next by {name}",
                                   "planned_at": "2027-01-11T09:00"}})
            return run

        run_together([move(manager, second, "manager"), move(supervisor, third, "supervisor")])
        statuses = sorted(status for status, _body in answers.values())
        assert statuses == [200, 409], answers
        winner = next(name for name, (status, _b) in answers.items() if status == 200)
        loser_body = json.loads(next(body for status, body in answers.values() if status == 409))
        assert loser_body["code"] == "stale_version"

        interest = dbx.get(Interest, pk)
        assert interest.stage_id == (second if winner == "manager" else third)
        assert interest.version == version + 1
        interactions = dbx.all(select(Interaction).where(Interaction.interest_id == pk)
                               .order_by(Interaction.id))
        assert [(i.status, i.result or i.subject) for i in interactions] == [
            ("done", f"by {winner}"), ("planned", f"Next by {winner}")]
        changes = dbx.all(select(StageChange.action).where(StageChange.interest_id == pk))
        assert sorted(changes) == ["create", "move"]
