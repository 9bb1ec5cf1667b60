"""Terminal safety: colours survive, every other control sequence is gone."""

from __future__ import annotations

import pytest

from prime_rl_logs.core.ansi import sanitize, strip_sgr

LOGURU = (
    "\x1b[2m14:03:55\x1b[0m \x1b[32m\x1b[1mSUCCESS\x1b[0m "
    "\x1b[32m\x1b[1m\x1b[22mStep 3 | Reward: 0.5123\x1b[0m\x1b[0m"
)


def test_plain_text_is_returned_unchanged() -> None:
    text = "14:03:55    INFO Step 3 | Reward: 0.5 ╰─ gsm8k"
    assert sanitize(text) is text
    assert strip_sgr(text) is text


def test_loguru_colours_are_kept() -> None:
    assert sanitize(LOGURU) == LOGURU


def test_strip_sgr_gives_plain_text() -> None:
    assert strip_sgr(LOGURU) == "14:03:55 SUCCESS Step 3 | Reward: 0.5123"
    assert strip_sgr("\x1b[38;2;255;0;0mred\x1b[38:5:1m\x1b[m") == "red"


def test_tab_is_kept() -> None:
    assert sanitize("\t\t ╰─ gsm8k") == "\t\t ╰─ gsm8k"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # CSI that is not SGR: clear screen, cursor moves, private modes, erase line
        ("a\x1b[2Jb", "ab"),
        ("a\x1b[Hb\x1b[10;20Hc", "abc"),
        ("a\x1b[?1049hb\x1b[?25l", "ab"),
        ("a\x1b[1Ab\x1b[K", "ab"),
        ("a\x1b[3", "a"),  # cut short at the end of the line
        # OSC: title (BEL and ST terminated), clipboard, hyperlinks
        ("a\x1b]0;pwned\x07b", "ab"),
        ("a\x1b]2;pwned\x1b\\b", "ab"),
        ("a\x1b]52;c;ZXZpbA==\x07b", "ab"),
        ("\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\", "click"),
        ("a\x1b]0;never terminated", "a"),
        # DCS, APC, PM, SOS strings
        ("a\x1bPq#0;2;0;0;0\x1b\\b", "ab"),
        ("a\x1b_payload\x1b\\b", "ab"),
        ("a\x1b^pm\x07b", "ab"),
        ("a\x1bXsos\x1b\\b", "ab"),
        # short escapes and a lone ESC
        ("a\x1bcb", "ab"),  # full reset
        ("a\x1b7b\x1b8", "ab"),  # save / restore cursor
        ("a\x1b(Bb", "ab"),  # charset
        ("ab\x1b", "ab"),
        # C0 controls: BEL, backspace, CR, form feed, NUL, DEL
        ("a\x07b\x08c\rd\x0ce\x00f\x7fg", "abcdefg"),
        # C1 controls, 8-bit CSI and OSC
        ("a\x9b2Jb", "ab"),
        ("a\x9d0;title\x9cb", "ab"),
        ("a\x85b\x8fc", "abc"),
        ("a\x9fapc string\x9cb", "ab"),
    ],
)
def test_unsafe_sequences_are_removed(text: str, expected: str) -> None:
    assert sanitize(text) == expected
    assert strip_sgr(text) == expected


def test_colours_next_to_unsafe_sequences_are_kept() -> None:
    text = "\x1b[31mred\x1b[2J\x1b[0m\x1b]0;t\x07 ok"
    assert sanitize(text) == "\x1b[31mred\x1b[0m ok"
    assert strip_sgr(text) == "red ok"


def test_no_escape_survives_that_is_not_sgr() -> None:
    # Removal never glues two halves into a new sequence.
    for text in ["\x1b\x1b[2J", "\x1b[\x1b[31m", "\x1b\x07[2J", "\x1b]\x1b[0m", "\x9b\x1b[1m"]:
        out = sanitize(text)
        rest = out.replace("\x1b[31m", "").replace("\x1b[0m", "").replace("\x1b[1m", "")
        assert "\x1b" not in rest, (text, out)


def test_unicode_is_untouched() -> None:
    text = "héllo ✓ 日本 \u00a0nbsp ╰─"
    assert sanitize(text) == text
