"""The broken-config corpus: every message names the file, the key path, the problem and a fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from portside.core.config import PortsideConfig, load_config, parse_config, read_env_file
from portside.core.errors import ConfigError

CORPUS = sorted((Path(__file__).parent / "configs").glob("*.toml"))


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 20


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_broken_config_message(path: Path) -> None:
    text = path.read_text()
    expect = text.splitlines()[0].removeprefix("# expect: ").strip()
    with pytest.raises(ConfigError) as caught:
        parse_config(text, path.name)
    message = str(caught.value)
    assert expect in message
    for problem in caught.value.problems:
        assert problem.startswith(f"{path.name}: ")
        assert "Fix: " in problem
        assert "Traceback" not in problem


def test_minimal_config_defaults() -> None:
    config = parse_config('[app]\nname = "demo"\n[frontend]\n[backend]\n')
    assert isinstance(config, PortsideConfig)
    assert config.gateway.api_prefix == "/api"
    assert config.backend is not None and config.backend.replicas == 2
    assert config.tls.mode.value == "self-signed"


def test_models_are_frozen() -> None:
    config = parse_config('[app]\nname = "demo"\n[backend]\n')
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises ValidationError on frozen models
        config.app.name = "other"  # type: ignore[misc]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found. Fix: run 'portside init"):
        load_config(tmp_path)


def test_missing_folders_are_reported(tmp_path: Path) -> None:
    (tmp_path / "portside.toml").write_text('[app]\nname = "demo"\n[frontend]\npath = "web"\n[backend]\n')
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert len(caught.value.problems) == 2
    assert "frontend.path: folder" in caught.value.problems[0]
    assert "backend.dockerfile" in caught.value.problems[1] or "backend.path" in caught.value.problems[1]


def test_env_file_values_are_secret(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("# secrets\nDB_PASSWORD='hunter2'\nexport TOKEN=abc\n")
    values = read_env_file(env)
    assert values["DB_PASSWORD"].get_secret_value() == "hunter2"
    assert "hunter2" not in repr(values)
    env.write_text("not a pair\n")
    with pytest.raises(ConfigError, match=r"\.env:1: expected KEY=value"):
        read_env_file(env)


def test_key_paths_with_control_characters_are_printed_escaped() -> None:
    """A quoted TOML key with a control character is part of the key path: it must not reach the terminal raw."""
    with pytest.raises(ConfigError) as caught:
        parse_config('[app]\nname = "demo"\n[backend]\nenv = { "A\\u001b[2JB" = 1 }\n')
    (problem,) = caught.value.problems
    assert problem.isprintable(), problem
    assert problem.startswith("portside.toml: backend.env.'A\\x1b[2JB': ")


@pytest.mark.parametrize(("key", "value"), [("app.name", "demo"), ("gateway.max_body_size", "10m"),
                                            ("gateway.rate_limit", "20r/s"), ("backend.memory", "512m"),
                                            ("app.domain", "board.example.com"), ("deploy.branch", "main")])
def test_a_trailing_newline_is_refused(key: str, value: str) -> None:
    """L2: '$' also matches before a final newline; every check must match the whole value."""
    section, field = key.split(".")
    sections: dict[str, list[str]] = {"app": ['name = "demo"'], "backend": [], "gateway": [], "deploy": []}
    sections[section] = [x for x in sections[section] if not x.startswith(field)] + [f'{field} = "{value}\\n"']
    text = "".join(f"[{name}]\n" + "".join(f"{x}\n" for x in lines) for name, lines in sections.items())
    with pytest.raises(ConfigError, match=rf"portside.toml: {key}: .*\\n"):
        parse_config(text)
