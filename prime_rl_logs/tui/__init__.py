"""The Textual dashboard of `prime-logs watch`.

`app` holds the application (state, keys, workers), `pane` what a pane shows and
its chrome, `log_view` the row renderer, `record_actions` what the keys do to the
selected record, `prompt` the regex prompt, `sidebar`, `metrics_view`, `plot` and
`help` the other widgets. Nothing here opens a log file: rows come from
`prime_rl_logs.core.view.View`.
"""
