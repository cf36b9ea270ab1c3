-- Typed secrets are no longer stored with a dialogue (they stay in the service's memory): dialogues
-- left by an earlier version may hold one in clear, so they go. Abandoned dialogues are deleted by age.
DELETE FROM dialogues;
CREATE INDEX dialogues_by_age ON dialogues (updated_at);
