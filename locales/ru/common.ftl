# Общие слова: длительности («2 ч 5 мин») и названия языков.
duration-days = { $count } д
duration-hours = { $count } ч
duration-minutes = { $count } мин
duration-seconds = { $count } с
language-name = Русский
not-allowed = Нельзя: ваша роль в этой базе данных этого не разрешает.
