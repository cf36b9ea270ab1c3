# Тексты этой части; у каждого ключа есть двойник с теми же подстановками в другом языке.

## /charts и /status в чате

charts-still-drawing = Ещё рисую предыдущий график; попробуйте чуть позже.
charts-off = Графики выключены: в конфигурации сервиса не указан Prometheus.
charts-no-database-here = Вы не состоите ни в одной базе, метрики которой можно показать в этом чате.
charts-no-such-database = Базы <b>{ $database }</b>, которую вы можете читать здесь, нет.
charts-which-database = Графики какой базы?
charts-none = Для <b>{ $database }</b> графиков нет.
charts-which-chart = <b>{ $database }</b>: какой график?
charts-gone = Этого графика больше нет.
charts-which-span = <b>{ $chart }</b> на <b>{ $database }</b>: за какой период?
charts-all = ‹ Все графики

## Подпись к графику и надписи на самой картинке

chart-heading = <b>{ $chart }</b> · { $database } · за { $span }
chart-times-in = Время в поясе { $zone }
chart-no-database = без базы
chart-summary = последнее { $last } · мин { $min } · макс { $max } · средн { $avg }
chart-series-no-data = нет данных
chart-other = прочие
chart-more = ещё { $count }
chart-firing = срабатывает

## Почему график не показать

chart-error-off = графики выключены: в конфигурации не указан Prometheus
chart-error-unknown-chart = для этой базы нет графика «{ $chart }»
chart-error-unknown-database = нет базы «{ $database }»
chart-error-no-expression = у этого алерта нет выражения для графика (ни g0.expr в его generator URL, ни аннотации expr)
chart-error-no-data = нет данных за этот период
chart-error-render = не удалось нарисовать график: { $error }

## Карточка здоровья (/status)

status-heading = <b>{ $database }</b> · состояние на { $time }
status-no-rows = В каталоге графиков нет строк для карточки состояния.
status-no-data = нет данных
status-above = выше { $value }
status-below = ниже { $value }
