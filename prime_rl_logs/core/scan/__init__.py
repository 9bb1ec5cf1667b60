"""The byte-level reading engine: pure functions over ``bytes`` and offsets.

Nothing here opens a file, holds a view or keeps module-level state; the views
(`core.view`, `core.view_file`) and files (`core.run`) call in with buffers they
already hold, and pass the run's learned header templates (`HeaderTemplates`,
``run.templates``) where they are used. Dependencies point one way:
`lines` -> `records` -> `templates` -> `spans`, `matcher` -> `decide`; `timeline`
needs `records` and `templates`. The formats themselves live in `core.formats`.
"""
