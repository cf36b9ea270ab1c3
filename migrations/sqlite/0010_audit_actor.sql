-- Every audit entry names its actor by type: the Telegram account behind it (none for API tokens and
-- the service itself) and the way in ('bot', 'rest', 'service'). Older entries kept both in detail
-- (user_id there names the account rebound, not the actor, in 'username rebound').
ALTER TABLE audit_log ADD COLUMN actor_id INTEGER;
ALTER TABLE audit_log ADD COLUMN via TEXT;
UPDATE audit_log SET
    actor_id = json_extract(detail, '$.user_id'),
    via = COALESCE(json_extract(detail, '$.via'),
                   CASE WHEN json_extract(detail, '$.user_id') IS NOT NULL THEN 'bot' END)
WHERE action <> 'username rebound';
