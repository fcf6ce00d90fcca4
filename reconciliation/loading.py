"""Import a restored-records file: validate everything first, then load it whole.

Parsing streams, so memory stays flat however large the file. On PostgreSQL the
parsed rows go by COPY into a temporary staging table while parsing goes on (the
database finds repeated external ids there); elsewhere they go to a spool file.
Only when no row is bad does one transaction move them into the real table,
skipping external ids already loaded for the incident.
"""

import csv
import datetime as dt
import functools
import hashlib
import io
import logging
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.models import Incident
from outage_desk.audit import audit_record
from outage_desk.models import User

from .models import ImportBatch, ImportProfile, RecordFormat, SystemRecord
from .parsers import (
    FIELDS,
    PARSERS,
    ImportRejected,
    ParseReport,
    ProfileSpec,
    RowError,
    format_guess,
)
from .parsers.base import (
    ERROR_DUPLICATE_ID,
    ERROR_NO_RECORDS,
    FORMULA_STARTS,
    TEXT_LIMITS,
)
from .storage import ids_reserve

logger = logging.getLogger(__name__)

ERROR_UNKNOWN_FORMAT = _("Unknown format “%(value)s”.")
ERROR_PROFILE_FORMAT = _("Profile “%(profile)s” reads %(format)s files, not %(value)s.")
CHUNK = 5000
PROGRESS_EVERY = 20000
MAX_STORED_ERRORS = 1000

Progress = Callable[[int], None]


@dataclass(frozen=True)
class ImportOutcome:
    """What an import did: the batch, and whether the same file was already loaded."""

    batch: ImportBatch
    already_imported: bool
    warnings: list[str]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def profile_spec(profile: ImportProfile | None) -> ProfileSpec:
    """A plain copy of the profile (or the canonical layout) for the parsers."""
    if profile is None:
        return ProfileSpec()
    return ProfileSpec(
        columns=dict(profile.columns),
        encoding=profile.encoding,
        delimiter=profile.delimiter,
        header_row=profile.header_row,
        decimal_separator=profile.decimal_separator,
        thousands_separator=profile.thousands_separator,
        date_format=profile.date_format,
        sign=profile.sign,
        default_currency=profile.default_currency,
        default_account=profile.default_account,
    )


def _valid_rows(
    *,
    path: Path,
    format: str,
    profile: ImportProfile | None,
    report: ParseReport,
    progress: Progress | None,
    in_database: bool = False,
) -> Iterator[list[object]]:
    """Canonical rows of the file; every bad row goes to the report.

    With ``in_database`` every good row is yielded with its line number first and
    the database finds repeated external ids (memory stays flat however large the
    file); otherwise they are found here and rows stop after the first error.
    """
    if format not in PARSERS:
        raise ImportRejected(
            [RowError(0, "format", str(ERROR_UNKNOWN_FORMAT) % {"value": format})]
        )
    seen: dict[int, int] = {}  # 8-byte hash of the external id -> first line
    count = 0
    for record in PARSERS[format](path, profile_spec(profile), report):
        if not in_database:
            key = int.from_bytes(
                hashlib.blake2b(record.external_id.encode(), digest_size=8).digest()
            )
            first = seen.setdefault(key, record.line)
            if first != record.line:
                report.error(
                    record.line,
                    "external_id",
                    ERROR_DUPLICATE_ID,
                    value=record.external_id,
                    first=first,
                )
                continue
        count += 1
        if progress and count % PROGRESS_EVERY == 0:
            progress(report.rows_seen)
        row: list[object] = [
            record.external_id,
            record.account,
            record.amount,
            record.currency,
            record.value_date.isoformat(),
            record.counterparty,
            record.reference,
            record.description,
        ]
        if in_database:
            yield [record.line, *row]
        elif not report.errors:  # after the first error only validation goes on
            yield row
    if not report.errors and not count:
        report.error(0, "file", ERROR_NO_RECORDS)


class _CsvStream(io.TextIOBase):
    """A file-like view of rows as CSV text, for COPY to pull from while parsing."""

    def __init__(self, rows: Iterator[list[object]]) -> None:
        self.rows = rows
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer)

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> str:
        want = size if size and size > 0 else 1 << 16
        while self.buffer.tell() < want:
            row = next(self.rows, None)
            if row is None:
                break
            self.writer.writerow(row)
        data = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return data


def records_validate(
    *,
    path: Path,
    format: str,
    profile: ImportProfile | None,
    spool: Path,
    progress: Progress | None = None,
) -> ParseReport:
    """Parse the whole file into a spool file; the report holds every bad row."""
    report = ParseReport()
    rows = _valid_rows(
        path=path, format=format, profile=profile, report=report, progress=progress
    )
    with spool.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows(rows)
    return report


def _stage_postgres(
    *,
    path: Path,
    format: str,
    profile: ImportProfile | None,
    progress: Progress | None,
    stage: str,
) -> ParseReport:
    """Parse and COPY into a session temp table at once: PostgreSQL ingests the
    rows while Python parses the next ones. Nothing reaches the real table here."""
    report = ParseReport()
    rows = _valid_rows(
        path=path,
        format=format,
        profile=profile,
        report=report,
        progress=progress,
        in_database=True,
    )
    columns = ", ".join(FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE {stage} (line integer, external_id text, "
            "account text, amount numeric, currency text, value_date date, "
            "counterparty text, reference text, description text)"
        )
        cursor.copy_expert(
            f"COPY {stage} (line, {columns}) FROM STDIN WITH "
            f"(FORMAT csv, FORCE_NOT_NULL ({columns}))",
            _CsvStream(rows),
            1 << 16,
        )
        cursor.execute(
            f"SELECT external_id, array_agg(line ORDER BY line) FROM {stage} "  # noqa: S608
            "GROUP BY external_id HAVING count(*) > 1"
        )
        for external_id, lines in cursor.fetchall():
            for line in lines[1:]:
                report.error(
                    line,
                    "external_id",
                    ERROR_DUPLICATE_ID,
                    value=external_id,
                    first=lines[0],
                )
    report.errors.sort(key=lambda error: error.line)
    return report


def records_import(
    *,
    path: Path,
    incident: Incident,
    format: str | None = None,
    profile: ImportProfile | None = None,
    actor: User | None = None,
    batch: ImportBatch | None = None,
    progress: Progress | None = None,
) -> ImportOutcome:
    """Validate and load one file for an incident; raise ImportRejected on any bad row."""
    fmt = format or (profile.format if profile else format_guess(path))
    if profile is not None and profile.format != fmt:
        raise ImportRejected(
            [
                RowError(
                    0,
                    "format",
                    str(ERROR_PROFILE_FORMAT)
                    % {"profile": profile.name, "format": profile.format, "value": fmt},
                )
            ]
        )
    sha = file_sha256(path)
    existing = ImportBatch.objects.filter(
        incident=incident, sha256=sha, status=ImportBatch.Status.LOADED
    ).first()
    if existing is not None:
        return ImportOutcome(existing, True, [])
    if connection.vendor == "postgresql" and fmt == "csv" and profile is None:
        loaded_fast = _import_canonical(
            path=path,
            sha=sha,
            incident=incident,
            actor=actor,
            batch=batch,
            progress=progress,
        )
        if loaded_fast is not None:
            return loaded_fast
    if (
        connection.vendor == "postgresql"
        and not SystemRecord.objects.filter(incident=incident).exists()
    ):
        try:
            return _import_direct(
                path=path,
                sha=sha,
                fmt=fmt,
                incident=incident,
                profile=profile,
                actor=actor,
                batch=batch,
                progress=progress,
            )
        except IntegrityError:
            # A repeated external id in the file, or another import for the same
            # incident at once: the staging path below sorts out either.
            pass
    with tempfile.TemporaryDirectory() as scratch:
        spool = Path(scratch) / "records.csv"
        stage = f"recon_stage_{uuid.uuid4().hex[:12]}"
        try:
            if connection.vendor == "postgresql":
                report = _stage_postgres(
                    path=path,
                    format=fmt,
                    profile=profile,
                    progress=progress,
                    stage=stage,
                )
            else:
                report = records_validate(
                    path=path,
                    format=fmt,
                    profile=profile,
                    spool=spool,
                    progress=progress,
                )
            if report.errors:
                raise ImportRejected(report.errors)
            loaded = _load(
                stage=stage,
                spool=spool,
                path=path,
                sha=sha,
                fmt=fmt,
                incident=incident,
                profile=profile,
                actor=actor,
                batch=batch,
                report=report,
            )
        except IntegrityError:
            # Another process may have loaded the same file a moment ago.
            existing = ImportBatch.objects.filter(
                incident=incident, sha256=sha, status=ImportBatch.Status.LOADED
            ).first()
            if existing is None:
                raise
            return ImportOutcome(existing, True, [])
        finally:
            _stage_drop(stage)
    return ImportOutcome(loaded, False, report.warnings)


def _stage_drop(stage: str) -> None:
    if connection.vendor != "postgresql" or connection.needs_rollback:
        return  # a failed transaction drops its temp table when it rolls back
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {stage}")


@transaction.atomic
def _load(
    *,
    stage: str,
    spool: Path,
    path: Path,
    sha: str,
    fmt: str,
    incident: Incident,
    profile: ImportProfile | None,
    actor: User | None,
    batch: ImportBatch | None,
    report: ParseReport,
) -> ImportBatch:
    batch = _batch_save(
        batch=batch,
        path=path,
        sha=sha,
        fmt=fmt,
        incident=incident,
        profile=profile,
        actor=actor,
        report=report,
    )
    if connection.vendor == "postgresql":
        loaded = _insert_postgres(stage, batch)
    else:
        _insert_chunks(spool, batch)
        loaded = SystemRecord.objects.filter(batch=batch).count()
    return _batch_loaded(batch=batch, loaded=loaded, actor=actor)


def _batch_save(
    *,
    batch: ImportBatch | None,
    path: Path,
    sha: str,
    fmt: str,
    incident: Incident,
    profile: ImportProfile | None,
    actor: User | None,
    report: ParseReport,
    pk: int | None = None,
) -> ImportBatch:
    if batch is None:
        batch = ImportBatch(pk=pk, incident=incident, created_by=actor)
    batch.file_name = batch.file_name or path.name[:255]
    batch.sha256 = sha
    batch.format = RecordFormat(fmt)
    batch.profile = profile
    batch.status = ImportBatch.Status.LOADED
    batch.rows_seen = report.rows_seen
    batch.warnings = report.warnings
    batch.finished_at = timezone.now()
    batch.save(force_insert=batch._state.adding)
    return batch


def _batch_loaded(
    *, batch: ImportBatch, loaded: int, actor: User | None
) -> ImportBatch:
    batch.rows_loaded = loaded
    batch.rows_skipped = batch.rows_seen - loaded
    batch.save(update_fields=["rows_loaded", "rows_skipped"])
    incident = batch.incident
    sha = batch.sha256
    audit_record(
        action="records.imported",
        obj=batch,
        actor=actor,
        data={
            "incident": incident.reference,
            "file": batch.file_name,
            "sha256": sha,
            "loaded": batch.rows_loaded,
            "skipped": batch.rows_skipped,
        },
    )
    return batch


@transaction.atomic
def _import_direct(
    *,
    path: Path,
    sha: str,
    fmt: str,
    incident: Incident,
    profile: ImportProfile | None,
    actor: User | None,
    batch: ImportBatch | None,
    progress: Progress | None,
) -> ImportOutcome:
    """The first file for an incident goes by COPY straight into the records table.

    PostgreSQL stores and indexes the rows while Python parses the next ones, and
    nothing is visible to anyone before the transaction commits: a bad row raises
    ImportRejected and rolls the whole copy back. A repeated external id makes
    COPY fail (IntegrityError), and the caller takes the staging path instead.
    """
    # The batch row is written after the copy, so the progress updates of a
    # queued upload (from another connection) never wait on a lock held here.
    batch_pk = batch.pk if batch is not None else ids_reserve(ImportBatch, 1)[0]
    report = ParseReport()
    rows = _valid_rows(
        path=path,
        format=fmt,
        profile=profile,
        report=report,
        progress=progress,
        in_database=True,
    )
    prefix = [batch_pk, incident.pk]
    copied = [0]

    def records() -> Iterator[list[object]]:
        # Every good row is copied even after a bad one, so that a repeated
        # external id anywhere still fails the copy and gets its own report.
        for row in rows:
            copied[0] += 1
            yield [*prefix, *row[1:]]

    columns = ", ".join(FIELDS)
    # copy_expert is psycopg2's own: wrap it so a unique violation arrives as
    # Django's IntegrityError like any other query's.
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.copy_expert(
            f"COPY {SystemRecord._meta.db_table} (batch_id, incident_id, {columns}) "
            f"FROM STDIN WITH (FORMAT csv, FORCE_NOT_NULL ({columns}))",
            _CsvStream(records()),
            1 << 16,
        )
    if report.errors:
        raise ImportRejected(sorted(report.errors, key=lambda error: error.line))
    saved = _batch_save(
        batch=batch,
        path=path,
        sha=sha,
        fmt=fmt,
        incident=incident,
        profile=profile,
        actor=actor,
        report=report,
        pk=batch_pk,
    )
    return ImportOutcome(
        _batch_loaded(batch=saved, loaded=copied[0], actor=actor),
        False,
        report.warnings,
    )


def _insert_postgres(stage: str, batch: ImportBatch) -> int:
    table = SystemRecord._meta.db_table
    columns = ", ".join(FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (batch_id, incident_id, {columns}) "  # noqa: S608
            f"SELECT %s, %s, {columns} FROM {stage} "
            "ON CONFLICT (incident_id, external_id) DO NOTHING",
            [batch.pk, batch.incident_id],
        )
        return int(cursor.rowcount)


def _insert_chunks(spool: Path, batch: ImportBatch) -> None:
    with spool.open(encoding="utf-8", newline="") as handle:
        chunk: list[SystemRecord] = []
        for row in csv.reader(handle):
            values: dict[str, object] = dict(zip(FIELDS, row, strict=True))
            values["amount"] = Decimal(row[2])
            values["value_date"] = dt.date.fromisoformat(row[4])
            chunk.append(
                SystemRecord(batch=batch, incident_id=batch.incident_id, **values)
            )
            if len(chunk) >= CHUNK:
                SystemRecord.objects.bulk_create(chunk, ignore_conflicts=True)
                chunk = []
        if chunk:
            SystemRecord.objects.bulk_create(chunk, ignore_conflicts=True)


# ---- the canonical CSV on PostgreSQL: parsed and checked by the database ----------

CANONICAL_HEADER = ",".join(FIELDS)


@functools.cache
def _spaces() -> str:
    """Python's str.isspace() characters: a value starting or ending with one of
    them is stripped by the Python parser, so the database leaves such a file to
    that parser. (Found on first use: the scan of every code point takes 0.25 s.)"""
    return "".join(chr(c) for c in range(0x110000) if chr(c).isspace())


def _canonical_file(path: Path) -> bool:
    """The canonical header, and no line COPY would read as its end-of-data mark."""
    with path.open("rb") as handle:
        first = handle.readline().removeprefix(b"\xef\xbb\xbf").rstrip(b"\r\n")
        if first != CANONICAL_HEADER.encode():
            return False
        tail = b"\n"
        for block in iter(lambda: handle.read(1 << 20), b""):
            if b"\n\\." in tail + block:
                return False
            tail = block[-2:]
    return True


def _clean_sql(places: dict[str, int]) -> str:
    """The rows the Python parser reads exactly as they stand, as a WHERE clause
    over the staged text ``s`` (no join, few function calls and one short regular
    expression per row, so a scan of a million rows stays short). ``places``: the
    file's currencies, all known, with their decimals."""
    # Code points a value may not start, and end, with (ascii() gives a text's
    # first code point on a UTF8 database, which Django requires).
    head = ", ".join(str(ord(c)) for c in _spaces() + "".join(FORMULA_STARTS))
    tail = ", ".join(str(ord(c)) for c in _spaces())
    checks = ["s.external_id <> ''"]
    for name in ("external_id", "account", "counterparty", "reference", "description"):
        checks.append(
            f"(s.{name} = '' OR (ascii(s.{name}) NOT IN ({head}) "
            f"AND ascii(right(s.{name}, 1)) NOT IN ({tail}) "
            f"AND char_length(s.{name}) <= {TEXT_LIMITS[name]}))"
        )
    by_currency = " ".join(
        f"WHEN '{code}' THEN {int(n)}" for code, n in sorted(places.items())
    )
    checks += [
        # Up to 15 digits before the point; a bounded repeat ({1,15}) inside the
        # expression made it twice as slow.
        "s.amount ~ '^[+-]?[0-9]+([.][0-9]+)?$'",
        "char_length(ltrim(split_part(s.amount, '.', 1), '+-')) <= 15",
        "(CASE WHEN strpos(s.amount, '.') > 0 THEN char_length(s.amount) "
        f"- strpos(s.amount, '.') ELSE 0 END) <= CASE s.currency {by_currency} END",
        # Exactly the ISO form (YYYY-MM-DD, years 0001-9999) that Python's
        # date.fromisoformat reads to the same day: ten characters, and the date
        # written back (DateStyle ISO, set by the caller) is the text itself
        # (a year BC is written with " BC" after it). A month or day that does
        # not exist fails the cast, which sends the file to the Python parser
        # like any other bad row.
        "s.value_date LIKE '____-__-__'",
        "s.value_date::date::text = s.value_date",
    ]
    return " AND ".join(checks)


_STAGE_COLUMNS = (
    "external_id text, account text, amount text, currency text, value_date text,"
    " counterparty text, reference text, description text"
)


# The settings the records table's batch and incident columns take their defaults
# from on PostgreSQL (migration ``reconciliation`` 0007), set for one transaction.
BATCH_SETTING = "outage_desk.import_batch"
INCIDENT_SETTING = "outage_desk.import_incident"


def _copy_file(cursor: Any, table: str, path: Path) -> int:
    """COPY the canonical file's columns into a table; its row count."""
    columns = ", ".join(FIELDS)
    with path.open("rb") as handle:
        cursor.copy_expert(
            f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, "
            f"HEADER true, ENCODING 'UTF8', FORCE_NOT_NULL ({columns}))",
            handle,
            1 << 20,
        )
    return int(cursor.rowcount)


class _RowsCheck:
    """The Python parser's rules checked in SQL, on a second connection, while the
    import's own connection loads the same file.

    This session copies the file into a temporary table of its own (it cannot see
    what the import's uncommitted transaction wrote) and counts the rows inside the
    rules (``_clean_sql``) while the import's connection copies and stores them, so
    the two run on two cores. The import commits only when every row it read is
    inside them. Without a second connection (the server refuses one) nothing is
    counted, and the file goes to the Python parser.
    """

    def __init__(self, path: Path, *, repeats_allowed: bool) -> None:
        self.path = path
        self.repeats_allowed = repeats_allowed
        self.clean_rows: int | None = None  # None: not every row is clean
        self.thread = threading.Thread(target=self._run, daemon=True)
        try:
            self.conn = connection.get_new_connection(
                connection.get_connection_params()
            )
        except Exception:  # no second connection: no check, so no fast path
            logger.warning("No second connection for the rows' check", exc_info=True)
            self.conn = None
            return
        self.thread.start()

    def _run(self) -> None:
        from outage_desk.money import currency_is_known, currency_places

        try:
            with self.conn.cursor() as cursor:
                cursor.execute("SET datestyle = 'ISO, YMD'")  # see _clean_sql
                cursor.execute(f"CREATE TEMP TABLE rows_check ({_STAGE_COLUMNS})")
                rows = _copy_file(cursor, "rows_check", self.path)
                cursor.execute("SELECT DISTINCT currency FROM rows_check")
                currencies = [code for (code,) in cursor.fetchall()]
                if not all(currency_is_known(code) for code in currencies):
                    return
                if not self.repeats_allowed:
                    cursor.execute(
                        "SELECT 1 FROM rows_check GROUP BY external_id"
                        " HAVING count(*) > 1 LIMIT 1"
                    )
                    if cursor.fetchone():
                        return
                clean = _clean_sql({code: currency_places(code) for code in currencies})
                cursor.execute(
                    f"SELECT count(*) FROM rows_check s WHERE {clean}"  # noqa: S608
                )
                if cursor.fetchone()[0] == rows:
                    self.clean_rows = rows
        except Exception:  # any failure sends the file to the Python parser
            # A file COPY cannot read lands here too; the parser names its rows.
            logger.info("The rows' check gave up", exc_info=True)
            self.clean_rows = None

    def all_clean(self, rows_seen: int) -> bool:
        """Wait for the check; True if it found exactly ``rows_seen`` rows, all clean."""
        if self.conn is None:
            return False
        self.thread.join()
        return self.clean_rows == rows_seen

    def close(self) -> None:
        """Stop the check if it still runs (the import gave up) and let go of it."""
        if self.conn is None:
            return
        if self.thread.is_alive():
            self.conn.cancel()
            self.thread.join()
        self.conn.close()


@transaction.atomic
def _import_canonical(
    *,
    path: Path,
    sha: str,
    incident: Incident,
    actor: User | None,
    batch: ImportBatch | None,
    progress: Progress | None,
) -> ImportOutcome | None:
    """The canonical CSV read by PostgreSQL's COPY and checked in SQL.

    COPY parses the file in C and PostgreSQL casts and stores the rows
    (``_copy_first_file``, ``_copy_later_file``), while a second connection checks
    the rules the Python parser applies (amount, currency and its decimals, ISO
    date, formula-looking and over-long text, surrounding spaces, repeated external
    ids) on its own copy of the file (``_RowsCheck``). A file with any row outside
    them (a bad row, a repeated id, a wrong encoding, a row COPY cannot read) is
    rolled back and None returned: the Python parser then reads the file and
    reports every bad row with its line, field and reason.
    """
    if not _canonical_file(path):
        return None
    first_file = not SystemRecord.objects.filter(incident=incident).exists()
    batch_pk = batch.pk if batch is not None else ids_reserve(ImportBatch, 1)[0]
    # The first file's repeated ids fail the unique index; a later file's would be
    # skipped by ON CONFLICT, so the check looks for them.
    check = _RowsCheck(path, repeats_allowed=first_file)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL datestyle = 'ISO, YMD'")  # see _clean_sql
            load = _copy_first_file if first_file else _copy_later_file
            # A value the casts refuse raises here; one they read but the parser
            # would refuse (``1e5``, ``20260302``) fails the check below.
            with connection.wrap_database_errors:
                rows_seen, loaded = load(cursor, path, batch_pk, incident.pk)
            if rows_seen <= 0:
                raise _NotCanonical
            if progress:
                progress(rows_seen)
            if not check.all_clean(rows_seen):
                raise _NotCanonical
    except (_NotCanonical, DatabaseError):
        return None
    finally:
        check.close()
    report = ParseReport(rows_seen=rows_seen)
    saved = _batch_save(
        batch=batch,
        path=path,
        sha=sha,
        fmt="csv",
        incident=incident,
        profile=None,
        actor=actor,
        report=report,
        pk=batch_pk,
    )
    return ImportOutcome(
        _batch_loaded(batch=saved, loaded=loaded, actor=actor), False, []
    )


def _copy_first_file(
    cursor: Any, path: Path, batch_pk: int, incident_pk: int
) -> tuple[int, int]:
    """The incident's first file, by COPY straight into the records table: rows seen
    and loaded. Each row takes its id from the table's sequence as COPY reads it
    (ids follow the file) and its batch and incident from the column defaults,
    which read them from this transaction's settings (migration 0007)."""
    cursor.execute(
        "SELECT set_config(%s, %s, true), set_config(%s, %s, true)",
        [BATCH_SETTING, str(batch_pk), INCIDENT_SETTING, str(incident_pk)],
    )
    rows = _copy_file(cursor, SystemRecord._meta.db_table, path)
    return rows, rows


def _copy_later_file(
    cursor: Any, path: Path, batch_pk: int, incident_pk: int
) -> tuple[int, int]:
    """A later file of the incident, through a staging table: rows seen and loaded
    (the ids already loaded are skipped by ON CONFLICT)."""
    stage = f"recon_canon_{uuid.uuid4().hex[:12]}"
    table = SystemRecord._meta.db_table
    columns = ", ".join(FIELDS)
    # Each row takes its id from the records' sequence as COPY reads it, so ids
    # follow the file's order without sorting the rows again for the INSERT (ids
    # of rows not loaded are skipped, as any sequence's).
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
    sequence = cursor.fetchone()[0]
    cursor.execute(
        f"CREATE TEMP TABLE {stage} (id bigint NOT NULL DEFAULT "
        f"nextval(%s::regclass), {_STAGE_COLUMNS}) ON COMMIT DROP",
        [sequence],
    )
    rows_seen = _copy_file(cursor, stage, path)
    cursor.execute(
        f"INSERT INTO {table} (id, batch_id, incident_id, {columns}) "  # noqa: S608
        "SELECT s.id, %(batch)s, %(incident)s, s.external_id, s.account, "
        "s.amount::numeric, s.currency, s.value_date::date, s.counterparty, "
        f"s.reference, s.description FROM {stage} s ON CONFLICT DO NOTHING",
        {"batch": batch_pk, "incident": incident_pk},
    )
    loaded = int(cursor.rowcount)
    cursor.execute(f"DROP TABLE {stage}")
    return rows_seen, loaded


class _NotCanonical(Exception):
    """The file needs the Python parser (and its row-by-row report)."""
