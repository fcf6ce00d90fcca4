"""Hand-written SQL for the hottest paths, its column lists taken from the models.

The ORM compiles every query anew (a few hundred microseconds each), which is most
of the cost of a request that runs a dozen small statements. The few requests that
must be fast (the API's token lookup, a deposit capture) build their SQL once from
the models' metadata and read or write rows through these helpers, so a renamed or
added field changes the SQL with the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from django.db import connection, models

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
