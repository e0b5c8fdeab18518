"""Who acts (app.services.actor) is seen by the thread that acts, and only by it: a job
acting as one user never stamps its name on another thread's request, and reads inside
a block go through the access filter as the block's user."""

from __future__ import annotations

import threading

from sqlalchemy import select

from app.models import ChangeLog, Client
from app.services.actor import acting_as, current, current_user_id


def test_each_write_is_attributed_to_its_own_actor_across_threads(app, dbx, api_as):
    from app.database import db
    from app.services import records

    admin, manager = dbx.user_id("admin"), dbx.user_id("manager")
    job_inside, request_done = threading.Event(), threading.Event()
    seen: dict[str, object] = {}

    def job():
        with app.app_context(), acting_as(admin):
            job_inside.set()
            request_done.wait(10)
            seen["job actor"] = current_user_id()
            client = records.save(Client(kind="company", name="Клиент задания"),
                                  is_new=True)
            seen["job client"] = client.id
            db.session.remove()

    worker = threading.Thread(target=job)
    worker.start()
    try:
        assert job_inside.wait(10)
        response = api_as("manager").post("/api/v1/client/",
                                          json={"kind": "company", "name": "Клиент менеджера"})
        assert response.status_code == 201, response.get_data(as_text=True)
        request_client = response.get_json()["id"]
    finally:
        request_done.set()
        worker.join(10)
    assert seen["job actor"] == admin
    assert dbx.get(Client, seen["job client"]).created_by_fk == admin
    assert dbx.get(Client, request_client).created_by_fk == manager
    with dbx.session() as s:
        authors = dict(s.execute(select(ChangeLog.record_id, ChangeLog.user_id)
                                 .where(ChangeLog.entity == "Client")).all())
    assert authors == {seen["job client"]: admin, request_client: manager}


def test_blocks_nest_and_end_where_they_began(app, dbx):
    admin, manager = dbx.user_id("admin"), dbx.user_id("manager")
    assert current() is None
    with acting_as(admin):
        with acting_as(None, name="job:reminders_overdue") as system:
            assert current() == system and system.user_id is None
            assert system.name == "job:reminders_overdue"
        with acting_as(manager):
            assert current_user_id() == manager
        assert current_user_id() == admin
    assert current() is None


def test_reads_in_a_block_go_through_the_access_filter_as_its_user(app, dbx):
    from app.database import db
    from app.services import access
    from tests.volume import bulk_clients

    bulk_clients(dbx, 6, responsible=["manager", "manager_b"])
    own = set(dbx.all(select(Client.id).where(
        Client.responsible_id == dbx.user_id("manager_b"))))
    with app.app_context():
        with acting_as(dbx.user_id("manager_b")):
            seen = set(db.session.execute(
                select(Client.id).where(access.condition(Client))).scalars())
        with acting_as(None, name="job:test"):
            nobody = db.session.execute(
                select(Client.id).where(access.condition(Client))).scalars().all()
        db.session.remove()
    assert seen == own and nobody == []
