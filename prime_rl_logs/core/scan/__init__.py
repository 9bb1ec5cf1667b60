"""The byte-level reading engine: pure functions over ``bytes`` and offsets.

Nothing here opens a file, holds a view or keeps module-level state; the views
(`core.view`) and files (`core.run`) call in with buffers they already hold.
"""
