"""One page of a SELECT of records, with the number of all it selects: the pages of
notifications, exports and the like, on screens and in the API."""

from __future__ import annotations

from sqlalchemy import func, select

from app.database import db


def page_of(query, page: int, size: int) -> tuple[int, list]:
    """(how many records `query` selects, the records of page `page` of `size`)."""
    total = db.session.execute(
        select(func.count()).select_from(query.order_by(None).subquery())).scalar()
    records = db.session.execute(query.limit(size).offset(page * size)).scalars().all()
    return total, records
