"""Plain rows: what a read that is only rendered gets instead of ORM entities.

A list page, the detail view, the department list and a check-in's reply only read what they
load; building entities (identity map, instrumented attributes) for them cost a sixth of a
list page's CPU. Each row is a named tuple with its model's field names, in its table's column
order, so a statement's columns can be cut into rows by width. Nothing writes through them."""

from __future__ import annotations

from collections import namedtuple

from storage.models import CheckIn, Department, KeyResult, Objective

ObjectiveRow = namedtuple("ObjectiveRow", [c.name for c in Objective.__table__.columns])
DepartmentRow = namedtuple("DepartmentRow", [c.name for c in Department.__table__.columns])
KeyResultRow = namedtuple("KeyResultRow", [c.name for c in KeyResult.__table__.columns])
CheckinRow = namedtuple("CheckinRow", [c.name for c in CheckIn.__table__.columns])
