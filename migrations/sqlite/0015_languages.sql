-- The language a person reads: the one their Telegram app reports (refreshed with every update), unless
-- they chose one with /language.
ALTER TABLE telegram_users ADD COLUMN language_code TEXT;
ALTER TABLE telegram_users ADD COLUMN chosen_language TEXT;
