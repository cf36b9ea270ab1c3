# Texts of this area; every key here has its twin, with the same placeholders, in the other language.
bot-failed = Sorry, that failed on my side. The service's log has the details under reference { $reference }.
button-not-ours = Not allowed: this button is no longer valid here. /alerts and the lists give current ones.
hint-help = Send /help to see what I can do.
stranger-refusal = Sorry, this bot serves the database administrators of its team only. If you should be one, ask an owner to add your Telegram id: { $id }
start-hello = Hello { $name }! { $roles }
start-more = Alerts of these databases reach you here. Send /help for the commands.
roles-owner = You are an <b>owner</b>: you may do everything on every database ({ $databases }) and receive the alerts that match none.
roles-admin = You administer { $databases }.
roles-viewer = You view { $databases } (alerts, incidents and views; no acknowledging, silencing or actions).
whoami = You are { $name } (Telegram id <code>{ $id }</code>). { $roles }
help-intro = <b>Postgram Admin</b> sends the alerts of your PostgreSQL databases here. Under each alert: <b>Acknowledge</b> tells everyone you are on it (and stops the email escalation), <b>Silence</b> creates an Alertmanager silence, <b>📈 Graph</b> plots the alert's own expression around the time it fired.
audit-owners-only = The audit log is for owners.
audit-title = <b>Audit log</b> (newest first, UTC)
# /language: the picker, its "as my Telegram app" button, and what a choice answers (in the language chosen).
language-current = I speak { $language } to you. Choose a language:
language-auto = As my Telegram app
language-set = From now on I speak { $language } to you.
language-auto-set = From now on I speak the language of your Telegram app to you: { $language }.
language-unknown = I do not speak “{ $given }”. Send /language en, /language ru or /language auto.
table-no-rows = no rows
table-rows = rows { $first }–{ $last } of { $total }
