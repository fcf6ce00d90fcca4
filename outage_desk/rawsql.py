"""Hand-written SQL for the hottest paths, its column lists taken from the models.

The ORM compiles every query anew (a few hundred microseconds each), which is most
of the cost of a request that runs a dozen small statements. The few requests that
must be fast (the API's token lookup, a deposit capture) build their SQL once from
the models' metadata and read or write rows through these helpers, so a renamed or
added field changes the SQL with the model.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import uuid
import weakref
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, TypeVar

from django.db import connection, models
from psycopg2.extras import Json

M = TypeVar("M", bound=models.Model)


def table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def select_list(model: type[models.Model], alias: str) -> str:
    """Every concrete column of ``model`` as ``alias."column"``, in field order."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(f.column)}" for f in model._meta.concrete_fields)


def row_instance(
    model: type[M], row: Sequence[Any], start: int = 0
) -> tuple[M | None, int]:
    """The instance whose columns (``select_list`` order) start at ``row[start]``,
    or None when its primary key is NULL (an outer join found nothing); and the
    index after its columns.
    """
    fields = model._meta.concrete_fields
    end = start + len(fields)
    values = list(row[start:end])
    if values[[f.primary_key for f in fields].index(True)] is None:
        return None, end
    for i, field in enumerate(fields):
        if hasattr(field, "from_db_value") and values[i] is not None:
            values[i] = field.from_db_value(values[i], None, connection)
    return model.from_db(connection.alias, [f.attname for f in fields], values), end


def insert_sql(
    model: type[models.Model], *, with_pk: bool = False, returning: str = ""
) -> str:
    """``INSERT INTO t (every concrete column, an auto id only if ``with_pk``)
    VALUES (%s, ...)``."""
    fields = insert_fields(model, with_pk=with_pk)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {table(model)} ({columns}) VALUES ({marks})"  # noqa: S608
    return f"{sql} RETURNING {returning}" if returning else sql


def insert_fields(
    model: type[models.Model], *, with_pk: bool = False
) -> list[models.Field[Any, Any]]:
    return [
        f
        for f in model._meta.concrete_fields
        if with_pk or not (f.primary_key and isinstance(f, models.AutoField))
    ]


def insert_params(obj: models.Model, *, with_pk: bool = False) -> list[Any]:
    """The values of ``insert_sql(type(obj))`` for ``obj``, prepared as the ORM would."""
    return [
        field.get_db_prep_save(field.pre_save(obj, True), connection)
        for field in insert_fields(type(obj), with_pk=with_pk)
    ]


# Field types whose value ``get_db_prep_save`` hands PostgreSQL as it is (or only
# wrapped for the driver): ``insert_json`` reads them straight from the instance.
_AS_IS = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "BigIntegerField",
        "BooleanField",
        "CharField",
        "DateTimeField",
        "DecimalField",
        "ForeignKey",
        "IntegerField",
        "JSONField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SmallIntegerField",
        "TextField",
        "UUIDField",
    }
)


@functools.cache
def _json_fields(
    model: type[models.Model], with_pk: bool
) -> list[tuple[str, models.Field[Any, Any], bool]]:
    return [
        (field.column, field, field.get_internal_type() in _AS_IS)
        for field in insert_fields(model, with_pk=with_pk)
    ]


def insert_json(obj: models.Model, *, with_pk: bool = False) -> dict[str, Any]:
    """``insert_params`` by column, as JSON values PostgreSQL's
    ``jsonb_populate_record`` reads back into the same column values: times in
    full ISO form, decimals and UUIDs as their text, JSON columns as they are."""
    out: dict[str, Any] = {}
    for column, field, as_is in _json_fields(type(obj), with_pk):
        value = field.pre_save(obj, True)
        if not as_is:
            value = field.get_db_prep_save(value, connection)
        out[column] = json_value(value)
    return out


def json_value(value: Any) -> Any:
    """A column's value as ``insert_json`` writes it."""
    if isinstance(value, Json):
        return value.adapted
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    return value


# Statements prepared on each open PostgreSQL connection, by name; None after an
# error, when which of them took is unknown until asked.
_prepared: weakref.WeakKeyDictionary[Any, set[str] | None] = weakref.WeakKeyDictionary()


def execute(
    cursor: Any, statements: Sequence[tuple[str, Sequence[Any] | None]]
) -> None:
    """Run statements in one round trip; on PostgreSQL as prepared statements.

    Each statement is prepared once per connection (named by a digest of its
    text) and executed by name afterwards, so PostgreSQL plans it once instead of
    on every request: planning is most of what a small statement costs it. The
    cursor holds the last statement's result. Placeholders are ``%s``; the SQL
    must hold no other ``%``. A statement without parameters (None) is sent as it
    is, unprepared (``SET LOCAL ...``). A pooler in front of PostgreSQL must keep
    sessions, as PgBouncer's session mode does.
    """
    if connection.vendor != "postgresql":
        for sql, params in statements:
            cursor.execute(sql, params)
        return
    raw = connection.connection
    prepared = _prepared.get(raw)
    if prepared is None:
        cursor.execute("SELECT name FROM pg_prepared_statements")
        prepared = _prepared[raw] = {name for (name,) in cursor.fetchall()}
    parts: list[str] = []
    values: list[Any] = []
    for sql, params in statements:
        if params is None:
            parts.append(sql)
            continue
        name = "od_" + hashlib.blake2b(sql.encode(), digest_size=10).hexdigest()
        if name not in prepared:
            parts.append(f"PREPARE {name} AS {_numbered(sql)}")
            prepared.add(name)
        marks = ", ".join(["%s"] * len(params))
        parts.append(f"EXECUTE {name} ({marks})" if params else f"EXECUTE {name}")
        values += params
    try:
        cursor.execute("; ".join(parts), values)
    except Exception:
        _prepared[raw] = None
        raise


def _numbered(sql: str) -> str:
    """``%s`` placeholders as PostgreSQL's ``$1, $2, ...``."""
    pieces = sql.split("%s")
    out = [pieces[0]]
    for n, piece in enumerate(pieces[1:], start=1):
        out += [f"${n}", piece]
    return "".join(out)
