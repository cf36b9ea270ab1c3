# Alert messages, storm digests, their buttons and the answers to them, and emails.
# Every key here has its twin, with the same placeholders, in locales/ru/alerts.ftl.

## The alert message

alert-status-firing = FIRING
alert-status-resolved = RESOLVED
alert-no-database = no database matched
alert-started = Started { $time } ({ $ago } ago)
alert-resolved = Resolved { $time } after { $duration }
alert-link-source = Source
alert-link-runbook = Runbook
alert-acknowledged = ☑️ Acknowledged by { $by } at { $time }
alert-silenced = 🔕 Silenced by { $by } until { $time }

## Buttons on alert messages and digests

alert-button-acknowledge = ☑️ Acknowledge
alert-button-expire-silence = 🔔 Expire silence
# Silence for this many hours.
alert-button-silence = 🔕 { $hours }h
alert-button-graph = 📈 Graph
digest-button-list = 📋 List firing alerts

## The storm digest

digest-title = ⚠️ <b>{ $count ->
        [one] { $count } new alert
       *[other] { $count } new alerts
    }</b> arrived faster than Telegram lets them through one by one; they follow as fast as it allows.

## Answers to the buttons

alert-incident-gone = This incident no longer exists.
alert-ack-done = Acknowledged: everyone sees you are on it.
alert-ack-already = Already acknowledged by { $by }.
alert-silence-needs-alertmanager = Silences need alertmanager.url in the configuration.
alert-silencing = Silencing for { $hours }h…
# The comment of the silence in Alertmanager.
alert-silence-comment = From Postgram, incident #{ $id }: { $alertname } on { $database }
alert-silence-failed = Could not create the silence for #{ $id }: { $error }
alert-no-silence = There is no silence to expire.
alert-expiring = Expiring the silence…
alert-silence-expired = 🔔 The silence of #{ $id } is expired.
alert-expire-failed = Could not expire the silence of #{ $id }: { $error }
alert-expire-no-answer = Alertmanager did not answer; the silence of #{ $id } may still be active.

## Telegram cannot reach a recipient

alert-unreachable-never-wrote = has not written to the bot yet
alert-unreachable-owners = ⚠️ Postgram cannot reach <code>{ $recipient }</code> on Telegram ({ $why }). Their alerts go to the fallback email recipients until they press Start in a private chat with the bot.

## Emails

email-subject = [{ $status }] { $database } { $alertname }
email-no-database = no database
email-resolved = Resolved { $time }
email-source = Source: { $url }
email-incident = Incident #{ $id }
email-reason-unacknowledged = Nobody acknowledged this alert in Telegram within { $duration }.
email-reason-resolved = This incident is resolved.
email-reason-telegram-failing = Telegram has failed to deliver this alert to any admin for { $duration }.
email-reason-unreachable = Telegram could not deliver this alert to { $recipient }: { $why }.
email-reason-undelivered = Telegram could not deliver this alert.
