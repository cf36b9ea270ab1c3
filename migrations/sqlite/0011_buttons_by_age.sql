-- Buttons are forgotten by age (telegram.buttons_ttl), except on the alert messages of incidents still
-- firing; the pruning reads them by age.
CREATE INDEX buttons_by_age ON buttons (created_at);
