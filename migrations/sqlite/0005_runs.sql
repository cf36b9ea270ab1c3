-- An action's run is audited when it starts (outcome 'running') and its row completed when it ends:
-- its outcome (succeeded, failed, cancelled, timed_out) and when. The row's id is the run's id.
ALTER TABLE audit_log ADD COLUMN outcome TEXT;
ALTER TABLE audit_log ADD COLUMN finished_at INTEGER;
