# Texts of this area; every key here has its twin, with the same placeholders, in the other language.

## /charts and /status in chat

charts-still-drawing = Still drawing your previous chart; try again in a moment.
charts-off = Charts are off: the service's config names no Prometheus.
charts-no-database-here = You are a member of no database whose metrics this chat may show.
charts-no-such-database = No database <b>{ $database }</b> that you may read here.
charts-which-database = Charts of which database?
charts-none = No charts for <b>{ $database }</b>.
charts-which-chart = <b>{ $database }</b>: which chart?
charts-gone = This chart is no longer offered.
charts-which-span = <b>{ $chart }</b> on <b>{ $database }</b>: over which span?
charts-all = ‹ All charts

## A chart photo's caption, and what the picture itself says

chart-heading = <b>{ $chart }</b> · { $database } · last { $span }
chart-times-in = Times in { $zone }
chart-no-database = no database
chart-summary = last { $last } · min { $min } · max { $max } · avg { $avg }
chart-series-no-data = no data
chart-other = other
chart-more = +{ $count } more
chart-firing = firing

## Why a chart could not be shown

chart-error-off = charts are off: the config names no Prometheus
chart-error-unknown-chart = no chart "{ $chart }" for this database
chart-error-unknown-database = no database "{ $database }"
chart-error-no-expression = this alert carries no expression to plot (no g0.expr in its generator URL, no expr annotation)
chart-error-no-data = no data for this range
chart-error-render = the chart could not be drawn: { $error }

## The health card (/status)

status-heading = <b>{ $database }</b> · health at { $time }
status-no-rows = The charts catalogue has no status rows.
status-no-data = no data
status-above = above { $value }
status-below = below { $value }
