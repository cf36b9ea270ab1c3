-- One fallback email per incident and address, kept by the store: the failing sends of several
-- recipients used to check for the job and enqueue it as two steps, and two of them could both enqueue.
DELETE FROM outbox
WHERE kind = 'email.fallback'
  AND id NOT IN (SELECT MIN(id) FROM outbox WHERE kind = 'email.fallback' GROUP BY incident_id, recipient);
CREATE UNIQUE INDEX outbox_one_fallback ON outbox (incident_id, recipient) WHERE kind = 'email.fallback';
