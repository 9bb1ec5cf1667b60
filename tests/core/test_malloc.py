"""`core.malloc`: big freed buffers go back to the system (issue 12, memory)."""

from __future__ import annotations

import platform

import pytest

from prime_rl_logs.core.malloc import return_big_buffers


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_the_mmap_threshold_is_set_once_on_glibc() -> None:
    assert return_big_buffers() is True
    assert return_big_buffers() is True  # idempotent: set once per process
