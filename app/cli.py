"""`flask crm ...` commands: set-up, demo data, the data generator, the schema check."""

from __future__ import annotations

import secrets
import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.services.schema import schema_problem
from app.services.setup import ensure_admin, ensure_reference_data, sync_roles

crm = AppGroup("crm", help="Voronka CRM administration.")


@crm.command("check-schema")
def check_schema_command() -> None:
    """Exit non-zero unless the database is at the latest migration."""

    problem = schema_problem()
    if problem:
        click.echo(problem, err=True)
        sys.exit(1)
    click.echo("The database schema is up to date.")


def _generated_password() -> str:
    """A random password that the password rules accept (upper, lower case and a digit)."""
    while True:
        candidate = secrets.token_urlsafe(12)
        if (any(c.isupper() for c in candidate) and any(c.islower() for c in candidate)
                and any(c.isdigit() for c in candidate)):
            return candidate


@crm.command("init")
@click.option("--demo/--no-demo", default=None,
              help="Create the demo company on an empty database (default: CRM_DEMO).")
def init_command(demo) -> None:
    """Sync roles and permissions, create the administrator and, once, the demo company.

    Safe to run again: nothing that exists is changed, except permissions that new
    screens need.
    """

    problem = schema_problem()
    if problem:
        raise click.ClickException(problem)
    sync_roles()
    ensure_reference_data()
    config = current_app.config
    password = config.get("CRM_ADMIN_PASSWORD")
    generated = None
    if not password:
        generated = password = _generated_password()
    created = ensure_admin(config["CRM_ADMIN_USER"], password)
    if created:
        click.echo(f"Administrator created: login '{config['CRM_ADMIN_USER']}'", nl=False)
        click.echo(f", password '{generated}' (shown once: write it down)." if generated
                   else " with the password from CRM_ADMIN_PASSWORD.")
    demo = config.get("CRM_DEMO", True) if demo is None else demo
    if demo:
        from app.sample_data.demo import create_demo_company

        if create_demo_company(config["CRM_DEMO_PASSWORD"]):
            click.echo("Demo company created: users supervisor, manager1, manager2, support1; "
                       "password from CRM_DEMO_PASSWORD "
                       f"('{config['CRM_DEMO_PASSWORD']}' unless you set it).")


@crm.command("generate")
@click.option("--clients", type=click.IntRange(1, 20_000_000), default=10_000, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
def generate_command(clients: int, seed: int) -> None:
    """Fill the database with realistic generated data, by bulk inserts."""
    from app.sample_data.generator import generate

    generate(clients=clients, seed=seed, echo=click.echo)


@crm.command("scheduler")
def scheduler_command() -> None:
    """Run the scheduled jobs in this process until stopped (start the web processes with
    CRM_SCHEDULER=off then)."""
    from app.jobs import JOBS
    from app.jobs.scheduler import next_run_at, run_forever

    problem = schema_problem()
    if problem:
        raise click.ClickException(problem)

    def announce() -> None:
        for job in JOBS:
            when = next_run_at(job.id)
            click.echo(f"{job.id:28} {job.schedule.text:14} next: "
                       f"{when.isoformat(sep=' ', timespec='minutes') + ' UTC' if when else '-'}")
        click.echo("Scheduler running (press Ctrl+C to stop).")

    run_forever(current_app._get_current_object(), announce)


@crm.command("run-job")
@click.argument("job_id")
def run_job_command(job_id: str) -> None:
    """Run one scheduled job now, as "run now" does, and print how it went."""
    from app.jobs import BY_ID
    from app.jobs.runner import run
    from app.models import utcnow

    job = BY_ID.get(job_id)
    if job is None:
        raise click.ClickException(f"No such job: {job_id}. Jobs: {', '.join(BY_ID)}")
    record = run(job, utcnow(), "manual")
    if record is None:
        raise click.ClickException(f"{job_id} is running in another process now.")
    click.echo(f"{job_id}: {record.status}, {record.rows} rows")
    if record.error:
        click.echo(record.error, err=True)
        sys.exit(1)


def register(app: Flask) -> None:
    app.cli.add_command(crm)
