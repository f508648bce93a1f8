"""Bad model setups: one clear line, exit 2, before any work starts (no run folder, no requests)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from fake_openai import FakeOpenAI

from robust.cli import main


def attack(medqa_file: Path, out: Path, *model_args: str) -> list[str]:
    return ["attack", "--bench", "medqa", "--data", str(medqa_file), "--out", str(out), "--quiet", *model_args]


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "Traceback" not in err[0]
    return err[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(("model_args", "expected"), [
    (["--model", "opneai:gpt-4o"], "unknown model 'opneai'. Did you mean 'openai'?"),
    (["--model", "openai:gpt-4o"], "the OpenAI API needs a key: set OPENAI_API_KEY"),
    (["--model", "openai:x", "--base-url", "http://127.0.0.1:1/v1", "--api-key-env", "ROBUST_TEST_NO_SUCH_KEY"],
     "--api-key-env ROBUST_TEST_NO_SUCH_KEY: that environment variable is not set"),
    (["--model", "openai:x", "--base-url", "localhost:8000/v1"], "--base-url must start with http:// or https://"),
    (["--model", "python:no_such_module_xyz:fn"], "cannot import module 'no_such_module_xyz'"),
    (["--model", "replay:/no/such/file.jsonl"], "/no/such/file.jsonl: file not found"),
])
def test_bad_model_specs(model_args: list[str], expected: str, medqa_file: Path, tmp_path: Path,
                         capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ROBUST_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert main(attack(medqa_file, tmp_path / "run", *model_args)) == 2
    assert expected in one_line_error(capsys)
    assert not (tmp_path / "run").exists()


def test_unreachable_base_url(medqa_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    assert main(attack(medqa_file, tmp_path / "run", "--model", "openai:x", "--base-url", url)) == 2
    line = one_line_error(capsys)
    assert f"cannot reach {url}" in line and "is the server running?" in line
    assert_failed_run(tmp_path / "run", "cannot reach")


def assert_failed_run(run: Path, reason: str) -> None:
    """The endpoint is checked only when a request is needed, after the run folder exists: the
    folder then says failed and why, never running or complete."""
    import json

    config = json.loads((run / "config.json").read_text())
    assert config["status"] == "failed" and reason in config["error"]
    assert not (run / "summary.json").exists() and not (run / "report.html").exists()


def test_wrong_key_and_unknown_model_fail_at_preflight(server: FakeOpenAI, medqa_file: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    server.behaviour.api_key = "sk-right"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-secret")
    assert main(attack(medqa_file, tmp_path / "a", "--model", "openai:fake-mc", "--base-url", server.url)) == 2
    line = one_line_error(capsys)
    assert "refused the request (HTTP 401)" in line and "check the key in $OPENAI_API_KEY" in line
    assert "sk-wrong-secret" not in line
    monkeypatch.setenv("OPENAI_API_KEY", "sk-right")
    assert main(attack(medqa_file, tmp_path / "b", "--model", "openai:gpt-5", "--base-url", server.url)) == 2
    line = one_line_error(capsys)
    assert "model 'gpt-5' is not usable" in line and "it serves: fake-mc" in line
    assert server.completed == 0
    assert_failed_run(tmp_path / "a", "HTTP 401")
    assert_failed_run(tmp_path / "b", "not usable")
    assert "sk-wrong-secret" not in (tmp_path / "a" / "config.json").read_text()


def test_servers_without_a_models_endpoint_pass_preflight_with_a_one_token_request(
        server: FakeOpenAI, medqa_file: Path, tmp_path: Path) -> None:
    server.behaviour.models_endpoint = False
    assert main(attack(medqa_file, tmp_path / "run", "--model", "openai:fake-mc", "--base-url", server.url,
                       "--limit", "2")) == 0
    assert server.payloads[0]["max_tokens"] == 1


@pytest.mark.parametrize("kind", ["empty-folder", "bad-config", "missing"])
def test_a_path_that_is_not_a_model(kind: str, medqa_file: Path, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    folder = tmp_path / "model"
    if kind != "missing":
        folder.mkdir()
    if kind == "bad-config":
        (folder / "config.json").write_text("{not json")
    assert main(attack(medqa_file, tmp_path / "run", "--model", f"hf:{folder}")) == 2
    line = one_line_error(capsys)
    assert f"hf:{folder}" in line
    assert not (tmp_path / "run").exists()


def test_a_bad_template_names_file_and_field(server: FakeOpenAI, medqa_file: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    template = tmp_path / "t.yaml"
    template.write_text("version: x\nuser: \"{{ question }} {{ choices }}\"\n")
    assert main(attack(medqa_file, tmp_path / "run", "--model", "openai:fake-mc", "--base-url", server.url,
                       "--template", str(template))) == 2
    line = one_line_error(capsys)
    assert "t.yaml, field 'user'" in line and "choices" in line
