-- Every audit entry names its actor by type: the Telegram account behind it (none for API tokens and
-- the service itself) and the way in ('bot', 'rest', 'service'). Older entries kept both in detail
-- (user_id there names the account rebound, not the actor, in 'username rebound').
ALTER TABLE audit_log ADD COLUMN actor_id BIGINT;
ALTER TABLE audit_log ADD COLUMN via TEXT;
UPDATE audit_log SET
    actor_id = (detail::jsonb ->> 'user_id')::bigint,
    via = COALESCE(detail::jsonb ->> 'via', CASE WHEN detail::jsonb ? 'user_id' THEN 'bot' END)
WHERE action <> 'username rebound';
