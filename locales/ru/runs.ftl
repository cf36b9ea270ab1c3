# Тексты этой части; у каждого ключа есть двойник с теми же подстановками в другом языке.
runs-views = представления
runs-actions = действия
runs-no-database = Вы не участник ни одной базы данных.
runs-no-database-for-actions = Вам нельзя выполнять действия ни на одной базе данных (наблюдатели могут только читать).
runs-which-database = Какая база данных? ({ $kind })
runs-none-on = На <b>{ $database }</b> нечего выполнять ({ $kind }).
runs-list = <b>{ $database }</b>: { $kind }
runs-not-offered = На <b>{ $database }</b> это недоступно.
# Диалог: вопрос об аргументе, подтверждение и его кнопки.
runs-argument = <b>{ $name }</b> ({ $kind })
runs-reply-value = Ответьте значением.
runs-choose-or-reply = Выберите или ответьте своим значением.
runs-yes = да
runs-no = нет
runs-confirm = Выполнить <b>{ $title }</b> на <b>{ $database }</b>?
runs-no-value = (нет)
runs-run = ✅ Выполнить
runs-cancel = ✖ Отмена
runs-stop = ⏹ Остановить
runs-running = Выполняю…
runs-cancelled = Отменено.
runs-preparing-csv = Готовлю CSV…
runs-cancelling = Останавливаю…
runs-cancelling-elsewhere = Останавливаю, если ещё выполняется.
runs-not-running = Сейчас не выполняется.
runs-not-yours = Это чужой запрос.
runs-over = Этот запрос уже завершён; начните заново.
# Ход действия и итог; $heading — «<b>название</b> на <b>базе</b>».
runs-heading = <b>{ $title }</b> на <b>{ $database }</b>
runs-starting = ⏳ { $heading }: запускаю…
runs-progress = ⏳ { $heading }: шаг { $step } из { $of } ({ $name }), { $seconds } с
runs-no-report = ❌ выполнение закончилось без отчёта
runs-summary = { $mark } { $heading }: { $outcome } ({ $seconds } с)
runs-done = готово
runs-failed-at = ошибка на шаге { $step }: { $error }
runs-cancelled-at = остановлено на шаге { $step }
runs-timed-out-at = время вышло на шаге { $step }
runs-rows-affected = { $count ->
    [one] { $count } строка
    [few] { $count } строки
    [many] { $count } строк
   *[other] { $count } строки
}
runs-exit-code = код выхода { $code }
runs-returned = Результат
# Почему выполнение не состоялось.
run-unknown-view = нет представления «{ $alias }»
run-unknown-action = нет действия «{ $alias }»
run-unknown-database = нет базы данных «{ $database }»
run-not-served = { $item } не выполняется на { $database }
run-too-many-views = не больше { $count ->
    [one] { $count } представления
   *[other] { $count } представлений
} одновременно от одного человека: дождитесь окончания
run-busy = { $action } уже выполняется на { $database }
run-exec-failed = { $database }: { $error }
exec-timed-out = время вышло
exec-cancelled = остановлено
exec-shell = не удалось запустить шаг оболочки: { $reason }
# Типы аргументов в вопросах и почему значение не подходит ($value приходит в кавычках).
arg-type-string = строка
arg-type-int = целое число
arg-type-bool = да или нет
arg-type-enum = выбор
arg-type-duration = длительность
arg-type-identifier = имя
arg-type-secret = секрет
arg-error = { $name }: { $message }
arg-nul = не должно содержать символ NUL
arg-too-long = длиннее { $max ->
    [one] { $max } символа
   *[other] { $max } символов
}
arg-no-match = { $value } не подходит под шаблон { $pattern }
arg-secret-no-match = не подходит под требуемый шаблон
arg-not-ascii = должно состоять из символов ASCII, чтобы его можно было захешировать (остальные символы PostgreSQL сначала нормализует)
arg-no-salt = не удалось получить случайную соль: { $reason }
arg-not-whole = { $value } — не целое число
arg-outside = { $value } вне диапазона { $min }..{ $max }
arg-not-yes-no = { $value } — не «да» и не «нет»
arg-not-choice = { $value } — не один из вариантов: { $choices }
arg-not-duration = { $value } — не длительность (примеры: 30s, 10m, 1h30m, 2d)
arg-not-name = { $value } — недопустимое имя
arg-no-such-role = роли { $value } на этой базе данных нет
arg-no-such-relation = таблицы, индекса или представления { $value } на этой базе данных нет
arg-takes-none = здесь нет аргументов
arg-unknown = неизвестный аргумент; известные: { $known }
arg-required = обязателен
runs-step-exited = команда завершилась с кодом { $code }
runs-step-killed = команду остановил сигнал { $signal }
runs-step-abnormal = команда завершилась аварийно
runs-step-shell-start = не удалось запустить шаг оболочки: { $reason }
