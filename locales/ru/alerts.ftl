# Сообщения об алертах, сводки во время шторма, их кнопки и ответы на нажатия, письма.
# У каждого ключа есть двойник с теми же подстановками в locales/en/alerts.ftl.

## Сообщение об алерте

alert-status-firing = СРАБОТАЛ
alert-status-resolved = РЕШЁН
alert-no-database = база данных не определена
alert-started = Начало: { $time } ({ $ago } назад)
alert-resolved = Решён { $time }, длился { $duration }
alert-link-source = Источник
alert-link-runbook = Инструкция
alert-acknowledged = ☑️ Подтверждено: { $by }, { $time }
alert-silenced = 🔕 Заглушено: { $by }, до { $time }

## Кнопки сообщений об алертах и сводок

alert-button-acknowledge = ☑️ Подтвердить
alert-button-expire-silence = 🔔 Снять заглушку
# Заглушить на столько часов.
alert-button-silence = 🔕 { $hours } ч
alert-button-graph = 📈 График
digest-button-list = 📋 Список активных алертов

## Сводка во время шторма

digest-title = ⚠️ { $count ->
        [one] <b>{ $count } новый алерт</b> пришёл
        [few] <b>{ $count } новых алерта</b> пришли
        [many] <b>{ $count } новых алертов</b> пришли
       *[other] <b>{ $count } новых алерта</b> пришли
    } быстрее, чем Telegram пропускает сообщения по одному; сообщения о каждом придут следом так быстро, как он позволит.

## Ответы на нажатия кнопок

alert-incident-gone = Этого инцидента больше нет.
alert-ack-done = Подтверждено: все видят, что вы этим занимаетесь.
alert-ack-already = Уже подтверждено: { $by }.
alert-silence-needs-alertmanager = Для заглушек нужен alertmanager.url в конфигурации.
alert-silencing = Создаю заглушку на { $hours } ч…
# Комментарий заглушки в Alertmanager.
alert-silence-comment = Из Postgram, инцидент #{ $id }: { $alertname } в { $database }
alert-silence-failed = Не удалось создать заглушку для #{ $id }: { $error }
alert-no-silence = Снимать нечего: заглушки нет.
alert-expiring = Снимаю заглушку…
alert-silence-expired = 🔔 Заглушка для #{ $id } снята.
alert-expire-failed = Не удалось снять заглушку для #{ $id }: { $error }
alert-expire-no-answer = Alertmanager не ответил; заглушка для #{ $id }, возможно, ещё действует.

## Telegram не доходит до получателя

alert-unreachable-never-wrote = ещё не писал боту
alert-unreachable-owners = ⚠️ Postgram не может связаться с <code>{ $recipient }</code> в Telegram ({ $why }). Его алерты уходят на резервные адреса почты, пока он не нажмёт «Start» в личном чате с ботом.

## Письма

email-subject = [{ $status }] { $database } { $alertname }
email-no-database = без базы данных
email-resolved = Решён { $time }
email-source = Источник: { $url }
email-incident = Инцидент #{ $id }
email-reason-unacknowledged = Никто не подтвердил этот алерт в Telegram за { $duration }.
email-reason-resolved = Этот инцидент решён.
email-reason-telegram-failing = Telegram уже { $duration } не может доставить этот алерт ни одному администратору.
email-reason-unreachable = Telegram не смог доставить этот алерт получателю { $recipient }: { $why }.
email-reason-undelivered = Telegram не смог доставить этот алерт.
