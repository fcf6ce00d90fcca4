-- The one-call ceiling of `bench/deposits_capture.py --one-call` (not the product's code).
--
-- Everything a lane capture writes, in one PL/pgSQL call: the token with its user, branch and
-- permissions, the incident and the customer; the advisory locks; the same-UUID and
-- possible-duplicate checks; the approval threshold; the receipt counter and the audit chain's
-- head; the deposit, its e-mail notice with three refs, the hash-chained audit event and the
-- Idempotency-Key's stored answer. The notice's text comes rendered from Python with the receipt
-- number left as @R@; the audit hash and the answer are built in SQL without the care the real
-- ones need (DRF's date format, Python's canonical JSON). It measures what the database and a
-- thin Python view cost when the capture is one round trip, to size that design.
CREATE OR REPLACE FUNCTION bench_capture_one_call(p_token text, p_incident text, p_account text, p_key text,
  p_uuid uuid, p_channel text, p_payer text, p_amount numeric, p_currency text, p_received timestamptz,
  p_reqhash text, p_subject text, p_body text, p_html text, p_lock1 bigint, p_lock2 bigint, p_chain int)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  r record; v_same bigint[]; v_dups bigint[]; v_thr numeric; v_id bigint; v_lookups json;
  v_num bigint; v_prev text; v_receipt text; v_status text := 'provisional'; v_answer text; v_hash text; v_ok bool;
BEGIN
  SELECT t.id AS tid, u.id AS uid, u.username, b.id AS bid, b.code, b.name AS bname,
    ARRAY(SELECT ct.app_label || '.' || p.codename FROM auth_permission p JOIN django_content_type ct ON ct.id = p.content_type_id WHERE p.id IN (SELECT up.permission_id FROM outage_desk_user_user_permissions up WHERE up.user_id = u.id UNION SELECT gp.permission_id FROM auth_group_permissions gp JOIN outage_desk_user_groups ug ON ug.group_id = gp.group_id WHERE ug.user_id = u.id)) AS perms,
    i.id AS iid, i.reference, c.id AS cid, c.email, c.language
  INTO r
  FROM outage_desk_apitoken t JOIN outage_desk_user u ON u.id = t.user_id LEFT JOIN deposits_branch b ON b.id = u.branch_id
  CROSS JOIN (SELECT 1) one LEFT JOIN incidents_incident i ON i.reference = p_incident LEFT JOIN deposits_customer c ON c.account = p_account
  WHERE t.key_hash = p_token AND t.revoked_at IS NULL AND u.is_active;
  IF NOT FOUND OR NOT ('deposits.add_deposit' = ANY(r.perms)) THEN RETURN NULL; END IF;
  PERFORM pg_advisory_xact_lock(k) FROM unnest(ARRAY[p_lock1, p_lock2]) k ORDER BY k;
  SELECT ARRAY(SELECT id FROM deposits_deposit WHERE client_uuid = p_uuid),
    ARRAY(SELECT id FROM deposits_deposit WHERE branch_id = r.bid AND status <> 'reversed' AND account = p_account AND amount = p_amount AND currency = p_currency AND received_at >= p_received - interval '30 min' AND received_at <= p_received + interval '30 min' ORDER BY received_at, id LIMIT 5),
    (SELECT amount FROM deposits_approvalthreshold WHERE branch_id = r.bid AND currency = p_currency),
    nextval(pg_get_serial_sequence('deposits_deposit', 'id')),
    json_build_array((SELECT coalesce(json_agg(json_build_array(e.id, e.url, e.events) ORDER BY e.id), '[]') FROM notifications_webhookendpoint e WHERE e.active),(SELECT coalesce(json_agg(json_build_array(v.id, v.template_id, v.number) ORDER BY v.number DESC), '[]') FROM notifications_noticetemplateversion v JOIN notifications_noticetemplate t ON t.id = v.template_id WHERE t.kind = 'deposit_received' AND v.status = 'approved' AND t.language = ANY(ARRAY['en'])))
  INTO v_same, v_dups, v_thr, v_id, v_lookups;
  IF cardinality(v_same) > 0 OR cardinality(v_dups) > 0 THEN RETURN NULL; END IF;
  IF v_thr IS NOT NULL AND p_amount > v_thr THEN v_status := 'pending_approval'; END IF;
  INSERT INTO deposits_receiptcounter AS c (branch_id, last_number) VALUES (r.bid, 1) ON CONFLICT (branch_id) DO UPDATE SET last_number = c.last_number + 1 RETURNING c.last_number INTO v_num;
  INSERT INTO outage_desk_auditchainhead AS h (id, last_hash, last_event_id) VALUES (p_chain, repeat('0',64), 0) ON CONFLICT (id) DO UPDATE SET id = h.id RETURNING h.last_hash INTO v_prev;
  v_receipt := r.code || '-' || lpad(v_num::text, 6, '0');
  INSERT INTO deposits_deposit (id, client_uuid, incident_id, branch_id, receipt_number, channel, customer_id, account, payer_name, amount, currency, received_at, reference, note, status, source, recorded_by_id, recorded_at, approved_by_id, approved_at, device_time, duplicate_reason, hold_reason, reverses_id)
   VALUES (v_id, p_uuid, r.iid, r.bid, v_receipt, p_channel, r.cid, p_account, p_payer, p_amount, p_currency, p_received, '', '', v_status, 'api', r.uid, now(), NULL, NULL, NULL, '', '', NULL);
  WITH n AS (INSERT INTO notifications_notice (kind, channel, recipient, language, dedupe_key, template_version_id, webhook_endpoint_id, subject, body, body_html, context, subject_refs, supersede_key, status, attempts, next_attempt_at, claim_token, claimed_at, last_error, created_at, sent_at)
     VALUES ('deposit_received', 'email', r.email, 'en', 'deposit:' || v_id || ':received:email:' || r.email, NULL, NULL, replace(p_subject, '@R@', v_receipt), replace(p_body, '@R@', v_receipt), replace(p_html, '@R@', v_receipt),
       json_build_object('receipt_number', v_receipt, 'amount', p_amount::text, 'currency', p_currency, 'received_at', p_received, 'payer_name', p_payer, 'account', p_account, 'branch', r.bname, 'incident', r.reference, 'status', v_status)::jsonb,
       jsonb_build_array('deposit:' || v_id, 'incident:' || r.iid, 'customer:' || r.cid), '', 'pending', 0, now(), NULL, NULL, '', now(), NULL) RETURNING id)
  INSERT INTO notifications_noticeref (notice_id, ref) SELECT n.id, x.ref FROM n, (VALUES ('deposit:' || v_id), ('incident:' || r.iid), ('customer:' || r.cid)) x(ref);
  v_hash := encode(sha256(convert_to(json_build_array(v_prev, now(), r.uid, 'deposit.recorded', 'deposits.deposit', v_id::text, json_build_object('receipt_number', v_receipt, 'client_uuid', p_uuid, 'amount', p_amount::text, 'currency', p_currency, 'account', p_account, 'status', v_status, 'source', 'api'))::text, 'UTF8')), 'hex');
  WITH e AS (INSERT INTO outage_desk_auditevent (created_at, actor_id, action, object_type, object_id, data, chain, prev_hash, hash)
     VALUES (now(), r.uid, 'deposit.recorded', 'deposits.deposit', v_id::text, jsonb_build_object('receipt_number', v_receipt, 'client_uuid', p_uuid, 'amount', p_amount::text, 'currency', p_currency, 'account', p_account, 'status', v_status, 'source', 'api'), p_chain, v_prev, v_hash) RETURNING id)
  UPDATE outage_desk_auditchainhead SET last_hash = v_hash, last_event_id = e.id FROM e WHERE outage_desk_auditchainhead.id = p_chain;
  v_answer := json_build_object('id', v_id, 'receipt_number', v_receipt, 'client_uuid', p_uuid, 'incident', r.reference, 'branch', r.code, 'channel', p_channel, 'customer', p_account, 'account', p_account, 'payer_name', p_payer, 'amount', p_amount::text, 'currency', p_currency, 'received_at', p_received, 'reference', '', 'note', '', 'status', v_status, 'source', 'api', 'recorded_by', r.username, 'recorded_at', now(), 'approved_by', NULL, 'approved_at', NULL, 'device_time', NULL, 'duplicate_reason', '', 'hold_reason', '', 'hold_message', '')::text;
  INSERT INTO outage_desk_idempotencyrecord (user_id, key, method, path, request_hash, status_code, response_body, created_at) VALUES (r.uid, p_key, 'POST', '/api/v1/deposits/', p_reqhash, 201, v_answer::jsonb, now()) ON CONFLICT (user_id, key) DO NOTHING;
  RETURN v_answer;
END $$;
