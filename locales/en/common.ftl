# Shared words: durations ("2 h 5 min") and the language names people choose between.
duration-days = { $count } d
duration-hours = { $count } h
duration-minutes = { $count } min
duration-seconds = { $count } s
language-name = English
not-allowed = Not allowed: your role on this database does not permit this.
