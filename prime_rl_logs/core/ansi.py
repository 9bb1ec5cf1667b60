"""Keep colours, drop every other terminal control sequence.

Log files are written by processes we do not control, and a line is shown verbatim
in a terminal. A colour code (SGR, ``ESC [ ... m``) is harmless and worth keeping;
anything else can move the cursor, clear the screen, retitle the window, write the
clipboard (OSC 52), plant a hyperlink (OSC 8) or ring the bell. `sanitize` removes
all of those so a log line can only ever paint characters and colours.

`sanitize` runs for every displayed line, so it is one compiled regex, and a line
with no ESC and no control character (nearly all of them) is returned as is.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["SGR_RE", "sanitize", "strip_sgr"]

# A Select Graphic Rendition sequence: colours, bold, dim, reset. Parameters are
# digits separated by ';' or ':' (24-bit colour sub-parameters).
SGR_RE: Final = re.compile(r"\x1b\[[0-9;:]*m")

# String terminators: BEL, ST (ESC \) or the 8-bit ST (0x9c). A string sequence with
# no terminator runs to the end of the line, as a terminal would swallow it.
_STRING_BODY: Final = r"[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"

# Every escape or control sequence that is not SGR. Order matters: the lookahead
# after ESC keeps SGR; then CSI, OSC, DCS/SOS/PM/APC strings, two/three-byte escapes
# (ESC c, ESC 7, ESC ( B, ESC \) and finally a lone ESC. 8-bit CSI and string
# introducers (C1) are removed with their bodies; any other C0/C1 control or DEL
# is removed on its own.
_UNSAFE: Final = re.compile(
    r"\x1b(?!\[[0-9;:]*m)"
    r"(?:"
    r"\[[0-?]*[ -/]*[@-~]?"  # CSI that is not SGR (possibly cut short)
    rf"|\]{_STRING_BODY}"  # OSC: title, 52 clipboard, 8 hyperlinks
    rf"|[P_^X]{_STRING_BODY}"  # DCS, APC, PM, SOS
    r"|[ -/]*[0-~]"  # nF / Fp / Fe / Fs escapes
    r")?"  # or a lone ESC
    r"|\x9b[0-?]*[ -/]*[@-~]?"  # 8-bit CSI
    rf"|[\x90\x98\x9d\x9e\x9f]{_STRING_BODY}"  # 8-bit DCS/SOS/OSC/PM/APC
    r"|[\x00-\x08\x0a-\x1a\x1c-\x1f\x7f-\x9f]"  # BEL, backspace, CR, other C0, DEL, C1
)


def sanitize(text: str) -> str:
    """Keep SGR colour codes, drop every other escape sequence and control character.

    TAB is kept. What is removed: CSI sequences other than SGR (cursor moves, clear
    screen, scroll regions), OSC strings (window title, OSC 52 clipboard, OSC 8
    hyperlinks) terminated by BEL or ST or unterminated, DCS / APC / PM / SOS
    strings, other two- and three-byte escapes, a lone ESC, BEL, backspace, CR, any
    other C0 control, DEL and the C1 controls U+0080-U+009F. The result cannot hold
    an ESC that does not start a complete SGR sequence.
    """
    # Fast paths, both C loops: a line with no control character at all, and a line
    # whose only controls are the ESCs of SGR codes (what loguru writes).
    if text.isprintable():
        return text
    if "\x1b" in text and SGR_RE.sub("", text).isprintable():
        return text
    return _UNSAFE.sub("", text)


def strip_sgr(text: str) -> str:
    """Plain text: what `sanitize` keeps, without the colour codes."""
    if text.isprintable():
        return text
    plain = SGR_RE.sub("", text)
    if plain.isprintable():
        return plain
    return SGR_RE.sub("", _UNSAFE.sub("", text))
