"""The [orchestrator.log] table: values read, and one clear line for each kind of mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from prime_rl_logs.config import ConfigError, LogConfig, load_log_config


def write(tmp_path: Path, text: str, name: str = "rl.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_defaults_match_prime_rl() -> None:
    assert LogConfig() == LogConfig(
        level="info", vf_level="warn", env_worker_logs=False, file=True, json_logging=False
    )


def test_reads_the_orchestrator_log_table(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
max_steps = 20

[orchestrator]
batch_size = 8

[orchestrator.log]
level = "debug"
vf_level = "info"
env_worker_logs = true
json_logging = true
file = false

[trainer.log]
level = "warning"
""",
    )
    assert load_log_config(path) == LogConfig(
        level="debug", vf_level="info", env_worker_logs=True, file=False, json_logging=True
    )
    assert load_log_config(path, table="trainer") == LogConfig(level="warning")


def test_shared_log_table_is_overridden_by_the_component_table(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[log]
level = "debug"
json_logging = true

[orchestrator.log]
level = "success"
""",
    )
    assert load_log_config(path) == LogConfig(level="success", json_logging=True)
    assert load_log_config(path, table="trainer") == LogConfig(level="debug", json_logging=True)
    assert load_log_config(path, table=None) == LogConfig(level="debug", json_logging=True)


def test_a_file_without_log_tables_gives_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, "[orchestrator]\nbatch_size = 8\n")
    assert load_log_config(path) == LogConfig()


@pytest.mark.parametrize("level", ["WARN", "Warning", "trace", "CRITICAL", "success"])
def test_level_names_are_case_insensitive_and_accept_warn(tmp_path: Path, level: str) -> None:
    path = write(tmp_path, f'[orchestrator.log]\nlevel = "{level}"\nvf_level = "{level}"\n')
    assert load_log_config(path).level == level


def one_line_error(path: Path, table: str | None = "orchestrator") -> str:
    with pytest.raises(ConfigError) as info:
        load_log_config(path, table=table)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert isinstance(info.value, ValueError)
    return message


def test_unknown_key_names_file_key_and_allowed_keys(tmp_path: Path) -> None:
    path = write(tmp_path, '[orchestrator.log]\nlevle = "debug"\n')
    message = one_line_error(path)
    assert "[orchestrator.log]" in message
    assert "'levle'" in message
    assert "level, vf_level, env_worker_logs, file, json_logging" in message


def test_unknown_key_in_shared_log_table(tmp_path: Path) -> None:
    path = write(tmp_path, "[log]\ncolour = true\n")
    message = one_line_error(path)
    assert "[log]" in message and "'colour'" in message


def test_level_that_is_not_a_loguru_level(tmp_path: Path) -> None:
    path = write(tmp_path, '[orchestrator.log]\nvf_level = "loud"\n')
    message = one_line_error(path)
    assert "vf_level" in message and "'loud'" in message
    assert "trace, debug, info, success, warning (warn), error, critical" in message


@pytest.mark.parametrize(
    ("line", "key", "shown"),
    [
        ('file = "yes"', "file", "'yes' (string)"),
        ("env_worker_logs = 1", "env_worker_logs", "1 (integer)"),
        ("json_logging = [true]", "json_logging", "(array)"),
        ("level = 20", "level", "20 (integer)"),
    ],
)
def test_wrong_type_names_key_and_expected_type(
    tmp_path: Path, line: str, key: str, shown: str
) -> None:
    path = write(tmp_path, f"[orchestrator.log]\n{line}\n")
    message = one_line_error(path)
    assert key in message and shown in message
    expected = "true or false" if key != "level" else "level name"
    assert expected in message


def test_invalid_toml(tmp_path: Path) -> None:
    path = write(tmp_path, '[orchestrator.log]\nlevel = "debug\n')
    message = one_line_error(path)
    assert "invalid TOML" in message and "line 2" in message


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "rl.toml"
    path.write_bytes(b'[log]\nlevel = "\xff"\n')
    assert "invalid TOML" in one_line_error(path)


def test_unreadable_file(tmp_path: Path) -> None:
    message = one_line_error(tmp_path / "missing.toml")
    assert "cannot read config" in message
    message = one_line_error(tmp_path)  # a folder
    assert "cannot read config" in message


def test_log_that_is_not_a_table(tmp_path: Path) -> None:
    path = write(tmp_path, '[orchestrator]\nlog = "debug"\n')
    message = one_line_error(path)
    assert "[orchestrator.log] must be a table" in message


def test_log_config_validates_direct_construction() -> None:
    with pytest.raises(ValueError, match="'loud' is not a log level"):
        LogConfig(level="loud")
    with pytest.raises(ValueError, match="file must be true or false"):
        LogConfig(file="no")  # type: ignore[arg-type]
