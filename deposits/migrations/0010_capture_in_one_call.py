"""PostgreSQL only: the API lane's capture as one database call.

``deposits_capture_in_one_call`` is the part of a capture that runs under its
locks: it takes the advisory locks, answers NULL (nothing written) when the client
UUID is taken or a possible duplicate is there, then takes the branch's next
receipt number and the audit chain's head, and inserts the rows Python built: the
deposit, its notices and their refs, the audit event (hashed here, over the
canonical text Python built) and the Idempotency-Key's answer.

Python builds every row before the receipt number and the chain's newest hash are
known, with a sentinel in their place; the function puts the real values in, in
the rows' JSON text and in the audit event's canonical text before hashing it
(see ``deposits.services.capture.deposit_capture_in_one_call``). The advisory
locks, the duplicate rule, the counter and the head are those of the capture's
other ways. A key already taken raises SQLSTATE ODK01 after the writes, so the
whole call rolls back. On SQLite this migration does nothing.
"""

from django.db import migrations

CAPTURE_SQL = r"""
CREATE OR REPLACE FUNCTION deposits_capture_in_one_call(
    p_locks bigint[], p_uuid uuid, p_branch bigint, p_code text,
    p_account text, p_amount numeric, p_currency text,
    p_from timestamptz, p_to timestamptz, p_reference text,
    p_chain integer, p_genesis text,
    p_receipt_mark text, p_prev_mark text, p_rows text, p_audit_text text
) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_number bigint;
    v_receipt text;
    v_prev text;
    v_rows jsonb;
    v_hash text;
    v_kept boolean;
BEGIN
    -- The same locks, in the same order, as the capture's other ways.
    PERFORM pg_advisory_xact_lock(k) FROM unnest(p_locks) AS k ORDER BY k;
    -- Each statement below sees what the locks waited for (READ COMMITTED).
    -- Three questions, each answered by its own index (the plan is generic).
    IF EXISTS (SELECT 1 FROM deposits_deposit WHERE client_uuid = p_uuid)
       OR EXISTS (
           SELECT 1 FROM deposits_deposit
           WHERE account = p_account AND amount = p_amount
             AND branch_id = p_branch AND status <> 'reversed'
             AND currency = p_currency
             AND received_at >= p_from AND received_at <= p_to)
       OR (p_reference <> '' AND EXISTS (
           SELECT 1 FROM deposits_deposit
           WHERE branch_id = p_branch AND reference = p_reference
             AND status <> 'reversed')) THEN
        RETURN NULL;
    END IF;
    INSERT INTO deposits_receiptcounter AS c (branch_id, last_number)
        VALUES (p_branch, 1)
        ON CONFLICT (branch_id) DO UPDATE SET last_number = c.last_number + 1
        RETURNING c.last_number INTO v_number;
    v_receipt := p_code || '-' || lpad(v_number::text, greatest(6, length(v_number::text)), '0');
    INSERT INTO outage_desk_auditchainhead AS h (id, last_hash, last_event_id)
        VALUES (p_chain, p_genesis, 0)
        ON CONFLICT (id) DO UPDATE SET id = h.id
        RETURNING h.last_hash INTO v_prev;
    v_rows := replace(replace(p_rows, p_receipt_mark, v_receipt), p_prev_mark, v_prev)::jsonb;
    v_hash := encode(sha256(convert_to(
        replace(replace(p_audit_text, p_receipt_mark, v_receipt), p_prev_mark, v_prev),
        'UTF8')), 'hex');

    INSERT INTO deposits_deposit
        SELECT r.* FROM jsonb_populate_record(NULL::deposits_deposit, v_rows -> 'deposit') AS r;
    WITH n AS (
        INSERT INTO notifications_notice
            SELECT r.* FROM jsonb_array_elements(v_rows -> 'notices') AS x,
                LATERAL jsonb_populate_record(NULL::notifications_notice, x || jsonb_build_object(
                    'id', nextval(pg_get_serial_sequence('notifications_notice', 'id')))) AS r
            RETURNING id, dedupe_key)
    INSERT INTO notifications_noticeref (notice_id, ref)
        SELECT n.id, refs.ref FROM n
        JOIN jsonb_to_recordset(v_rows -> 'refs') AS refs (key text, ref text)
          ON refs.key = n.dedupe_key;
    WITH e AS (
        INSERT INTO outage_desk_auditevent
            SELECT r.* FROM jsonb_populate_record(NULL::outage_desk_auditevent,
                (v_rows -> 'audit') || jsonb_build_object(
                    'id', nextval(pg_get_serial_sequence('outage_desk_auditevent', 'id')),
                    'prev_hash', v_prev, 'hash', v_hash)) AS r
            RETURNING id)
    UPDATE outage_desk_auditchainhead SET last_hash = v_hash, last_event_id = e.id
        FROM e WHERE outage_desk_auditchainhead.id = p_chain;
    WITH kept AS (
        INSERT INTO outage_desk_idempotencyrecord
            SELECT r.* FROM jsonb_populate_record(NULL::outage_desk_idempotencyrecord,
                (v_rows -> 'answer') || jsonb_build_object(
                    'id', nextval(pg_get_serial_sequence('outage_desk_idempotencyrecord', 'id')))) AS r
            ON CONFLICT (user_id, key) DO NOTHING
            RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM kept) INTO v_kept;
    IF NOT v_kept THEN
        RAISE EXCEPTION 'the Idempotency-Key is taken' USING ERRCODE = 'ODK01';
    END IF;
    RETURN v_receipt;
END;
$$;
"""
DROP_SQL = """
DROP FUNCTION IF EXISTS deposits_capture_in_one_call(
    bigint[], uuid, bigint, text, text, numeric, text, timestamptz, timestamptz, text,
    integer, text, text, text, text, text);
"""


def _postgres_only(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("deposits", "0009_deposit_no_lone_fk_indexes"),
        ("notifications", "0005_notice_plain_indexes"),
        ("outage_desk", "0008_idempotency_user_index_dropped"),
    ]

    operations = [
        migrations.RunPython(_postgres_only(CAPTURE_SQL), _postgres_only(DROP_SQL)),
    ]
