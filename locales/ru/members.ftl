# Тексты этой части; у каждого ключа есть двойник с теми же подстановками в другом языке.

## Роли в предложении («сделал вас администратором …») и словом в списках

role-a = { $role ->
    [viewer] наблюдателем
    [admin] администратором
   *[owner] владельцем
}

## /admins: списки участников

members-stale = Эта кнопка больше не действует; отправьте /admins ещё раз.
members-only-owners = Участниками управляют только владельцы. /whoami покажет ваши роли.
members-which-database = <b>Участники</b>: какой базы?
members-title = <b>Участники { $database }</b>
members-legend = Владельцам можно всё. Администраторы работают с алертами и запускают действия; наблюдатели видят алерты и представления. 🔒: в файле конфигурации.
members-none = Администраторов и наблюдателей пока нет.
members-added-by = добавил(а) { $by }
members-from-config = 🔒 конфигурация
members-user = пользователь <code>{ $id }</code>
members-not-started = ещё не нажал(а) «Старт»
members-claimed-by = ⚠️ занят пользователем <code>{ $id }</code>
members-rebind-button = 🔁 { $username } — это пользователь { $id }
members-to-viewer = ⬇ в наблюдатели: { $member }
members-to-admin = ⬆ в администраторы: { $member }
members-remove = ✖ удалить { $member }
members-add-admin = ➕ Добавить администратора
members-add-viewer = ➕ Добавить наблюдателя
members-invite-admin = 🔗 Пригласить администратора
members-invite-viewer = 🔗 Пригласить наблюдателя
members-databases = ◀ Базы
members-rebound = { $username } теперь — пользователь { $id }.
members-not-claimed = Пользователь { $id } больше не претендует на { $username }.

## Что сделало изменение (ответ на нажатие кнопки: простой текст)

member-no-longer = { $member } больше не участник { $database }.
member-already = { $member } уже является { role-a } { $database }.
member-now = { $member } теперь является { role-a } { $database }.

## Почему изменение отклонено

member-error-unknown-database = нет базы с именем «{ $database }»
member-error-forbidden = { $who } не может управлять участниками { $database }
member-error-locked = { $member } указан(а) в файле конфигурации; измените это там
member-error-not-member = { $member } не участник { $database }, добавленный здесь
member-error-owner = владельцам и так можно всё; { $member } не нужно участие
member-error-bad-role = участники — администраторы или наблюдатели, а не { $role }

## Добавление людей: клавиатура выбора человека и ссылки-приглашения

members-pick-in-private = Выбрать человека можно в личном чате со мной; здесь пригласите его ссылкой.
members-pick-button = 👤 Выбрать человека
members-pick = Нажмите <b>👤 Выбрать человека</b> ниже, чтобы выбрать, кто станет { role-a } <b>{ $database }</b>.

    Ему нужно нажать «Старт» в личном чате со мной: пока он этого не сделает, Telegram не даёт мне ему писать, и его алерты уходят на резервную почту базы.
members-invite-ask = Отправьте @username человека, которого приглашаете в <b>{ $database }</b> с ролью { $role }. Ссылка сработает один раз, только для него, в течение { $hours ->
    [one] { $hours } часа
    [few] { $hours } часов
    [many] { $hours } часов
   *[other] { $hours } часа
}.
members-invite-again = Отправьте @username приглашаемого или /admins, чтобы начать заново.
members-invite-replaced = Это приглашение тем временем заменили или отменили; начните заново с /admins.
members-invite-link = 🔗 Отправьте эту ссылку { $username }. Открыв её, он(а) станет { role-a } <b>{ $database }</b>; ссылка сработает один раз, до { $until }.

    { $link }
members-joined = ✅ Теперь вы являетесь { role-a } <b>{ $database }</b>.
invite-expired = Срок действия приглашения истёк; попросите у владельца новое.
invite-used = Это приглашение уже использовано; попросите у владельца новое.
invite-not-yours-no-username = Это приглашение для другого человека. Если оно для вас, задайте себе имя пользователя в Telegram и откройте ссылку ещё раз.
invite-not-yours = Это приглашение для другого человека.
invite-unknown = Ссылка-приглашение недействительна; попросите у владельца новую.

## Что участник и администраторы его базы узнают об изменении

member-welcome = 👋 { $by } сделал(а) вас { role-a } <b>{ $database }</b>. Теперь её алерты приходят вам сюда; те, что срабатывают сейчас, придут следом. Отправьте /help, чтобы узнать, что вы можете.
member-added = 👥 { $by } добавил(а) { $member } { role-a } <b>{ $database }</b>.
member-you-now = 👥 { $by } сделал(а) вас { role-a } <b>{ $database }</b>.
member-made = 👥 { $by } сделал(а) { $member } { role-a } <b>{ $database }</b>.
member-you-removed = 👥 { $by } удалил(а) вас из <b>{ $database }</b>: её алерты вам больше не приходят.
member-removed = 👥 { $by } удалил(а) { $member } из <b>{ $database }</b>.

## Сообщение владельцам после перезагрузки конфигурации

reload-title = 🔄 <b>Конфигурация перезагружена</b>: { $by }
reload-nothing = Ничего не изменилось.
reload-databases = Базы
reload-owners = Владельцы
reload-api-tokens = API-токены
reload-views = Представления
reload-actions = Действия
reload-charts = Графики
reload-members = Участники
reload-other = Также изменены
reload-changed = изменены { $names }
reload-user = пользователь { $id }
reload-dialogue-ended = Разговор о { $kind ->
    [view] представлении
   *[action] действии
} <code>{ $item }</code> на <b>{ $database }</b> завершён: { $why } при перезагрузке конфигурации.
reload-database-removed = база { $database } удалена
reload-item-removed = { $kind ->
    [view] представление удалено
   *[action] действие удалено
}
reload-item-moved = { $kind ->
    [view] представление больше не выполняется на { $database }
   *[action] действие больше не выполняется на { $database }
}

## Списки: срабатывающие алерты, история инцидентов, активные заглушки

alerts-none = ✅ В ваших базах ничего не срабатывает.
alerts-title = <b>Срабатывает сейчас</b>
alerts-more = … и ещё: см. /incidents
incidents-title = <b>Инциденты { $database }</b>
incidents-title-all = <b>Инциденты всех баз</b>
incidents-none = Нет.
incidents-newest = ⏮ Новейшие
incidents-older = ◀ Старше
incidents-not-member = Вы не участник базы с именем «{ $database }».
incidents-name-one = Укажите одну из своих баз: /incidents { $names }
silences-none = Активных заглушек, созданных здесь, нет.
silences-title = <b>Активные заглушки</b>
silences-by = 🔕 { $by }, до { $until }
silences-expire = 🔔 Снять #{ $id }

## Владельцам: имя пользователя, по которому добавлен участник, теперь у другой учётной записи

username-taken = ⚠️ Учётная запись Telegram <code>{ $account }</code> теперь носит имя @{ $username }, которое принадлежит пользователю <code>{ $owner }</code>. Я считаю её посторонней. Если этот человек перешёл на новую учётную запись, привяжите к ней @{ $username } в /admins.

## /tokens: API-токены

tokens-owners-only = API-токенами управляют владельцы.
tokens-not-allowed = Нельзя: API-токенами управляют владельцы.
tokens-every-database = все базы
tokens-private-only = Новый токен показывается только в личном чате: отправьте мне там <code>/tokens ИМЯ</code>.
tokens-role-viewer = 👁 наблюдатель
tokens-role-admin = 🛠 администратор
tokens-role-owner = 👑 владелец
tokens-which-role = Новый API-токен <b>{ $name }</b>: какая роль?

    <b>viewer</b> (наблюдатель) читает инциденты и представления; <b>admin</b> (администратор) ещё и работает с алертами и запускает действия; <b>owner</b> (владелец) может всё, включая участников и журнал аудита.
tokens-bad-name = Имя токена — от 1 до 24 символов: строчные латинские буквы, цифры, <code>-</code> и <code>_</code>. Например: <code>/tokens grafana</code>
tokens-name-in-config = <b>{ $name }</b> — токен из файла конфигурации; выберите другое имя.
tokens-name-exists = Токен с именем <b>{ $name }</b> уже есть (отозванные токены сохраняют имена); выберите другое имя.
tokens-line = <b>{ $name }</b> · { $role } · { $scope } · создал(а) { $by } { $date }
tokens-revoked-on = отозван { $date }
tokens-title = <b>API-токены</b>
tokens-none = Пока нет.
tokens-more = … и ещё { $count }
tokens-footer = 🔒 токены из файла конфигурации. Отправьте <code>/tokens ИМЯ</code>, чтобы создать токен (в личном чате).
tokens-revoke = Отозвать { $name }
tokens-stale = Эта кнопка больше не действует.
tokens-create-in-private = Токены создаются только в личном чате.
tokens-all-databases = 🌐 Все базы
tokens-which-scope = Новый API-токен <b>{ $name }</b> с ролью <b>{ $role }</b>: для каких баз?
tokens-name-taken = Это имя уже занято.
tokens-name-taken-long = Токен с именем <b>{ $name }</b> уже есть; отправьте <code>/tokens ИМЯ</code> с другим именем.
tokens-created-answer = Создан: скопируйте токен сейчас.
tokens-shown = 🔑 Новый API-токен { $what }

    <code>{ $token }</code>

    Передавайте его как <code>Authorization: Bearer …</code>. Он показывается только сейчас — сервис хранит лишь его SHA-256, — поэтому скопируйте его и удалите это сообщение.
tokens-hide = 🙈 Я сохранил(а) — удалить сообщение
tokens-created = ✅ API-токен { $what } создан: он показан один раз ниже.
tokens-no-such = Такого токена нет.
tokens-revoked = { $name } отозван: он больше не открывает API.
tokens-revoked-already = { $name } уже отозван.
tokens-deleted = Удалено.
tokens-hidden-text = 🙈 Токен, который был здесь, скрыт.
tokens-hidden = Скрыто.
tokens-delete-yourself = Telegram отказал: удалите сообщение сами.
