"""``dsnlink simulator`` as a real subprocess, controlled by the other subcommands."""

from __future__ import annotations

import gzip
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from tests.simulator_helpers import AUTH_HEADERS, auth_body, deposit_headers, small_dsn


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dsnlink", "simulator", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )


def _start(*args: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "dsnlink", "simulator", "serve", "--json", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("}"):
            break
    return process, json.loads("".join(lines))


def _stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0, stderr


def test_serve_then_control_it(tmp_path: Path) -> None:
    port = _free_port()
    state = tmp_path / "sim.sqlite3"
    process, info = _start("--port", str(port), "--state", str(state))
    try:
        url = info["url"]
        assert url == f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=url) as client:
            token = client.post(
                "/authentifier/1.0/", content=auth_body(), headers=AUTH_HEADERS
            ).text
            client.post(
                "/deposer-dsn/1.0/",
                content=gzip.compress(small_dsn()),
                headers=deposit_headers(token),
            )
        moved = _cli("clock", "advance", "3d", "--url", url, "--json")
        assert moved.returncode == 0, moved.stderr
        assert json.loads(moved.stdout)["offset_seconds"] >= 3 * 86400
        deposits = json.loads(_cli("deposits", "--url", url, "--json").stdout)
        assert len(deposits["deposits"]) == 1 and deposits["duplicates"] == 0
        people = _cli("accounts", "--url", url)
        assert people.returncode == 0 and "99900000300015" in people.stdout
    finally:
        _stop(process)
    assert state.is_file()  # what it keeps across restarts: see test_simulator_http


def test_serve_with_tls_prints_the_ca(tmp_path: Path) -> None:
    process, info = _start("--port", str(_free_port()), "--tls", "--tls-dir", str(tmp_path))
    try:
        assert info["url"].startswith("https://")
        assert Path(info["ca"]).is_file()
        shown = _cli("clock", "show", "--url", info["url"], "--ca", info["ca"], "--json")
        assert shown.returncode == 0, shown.stderr
    finally:
        _stop(process)


def test_control_without_a_running_simulator_fails_clearly() -> None:
    result = _cli("deposits", "--url", f"http://127.0.0.1:{_free_port()}")
    assert result.returncode == 13
    assert "ne répond pas" in result.stderr
    assert "Que faire" in result.stderr


def test_passwords_and_tokens_never_leak(tmp_path: Path) -> None:
    canary = "CANARY-s3cr3t-cli"
    config = tmp_path / "sim.json"
    config.write_text(
        json.dumps(
            {
                "accounts": [
                    {"siret": "12345678900011", "nom": "N", "prenom": "P", "password": canary}
                ]
            }
        )
    )
    state = tmp_path / "state.sqlite3"
    process, info = _start(
        "--port", str(_free_port()), "--config", str(config), "--state", str(state)
    )
    try:
        who = {"siret": "12345678900011", "nom": "N", "prenom": "P"}
        with httpx.Client(base_url=info["url"]) as client:
            token = client.post(
                "/authentifier/1.0/",
                content=auth_body(**who, motdepasse=canary),
                headers=AUTH_HEADERS,
            ).text
            client.post(
                "/authentifier/1.0/",
                content=auth_body(**who, motdepasse=canary + "x"),
                headers=AUTH_HEADERS,
            )
        outputs = [_cli("accounts", "--url", info["url"], "--json").stdout]
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=20)
    for text in [*outputs, stdout, stderr]:
        assert canary not in text and token not in text
    for file in tmp_path.iterdir():
        if file != config:
            data = file.read_bytes()
            assert canary.encode() not in data and token.encode() not in data


def test_state_survives_a_killed_process(tmp_path: Path) -> None:
    from dsnlink.simulator import Simulator, SimulatorConfig

    state = tmp_path / "sim.sqlite3"
    process, info = _start("--port", str(_free_port()), "--state", str(state))
    try:
        with httpx.Client(base_url=info["url"]) as client:
            token = client.post(
                "/authentifier/1.0/", content=auth_body(), headers=AUTH_HEADERS
            ).text
            answer = client.post(
                "/deposer-dsn/1.0/",
                content=gzip.compress(small_dsn()),
                headers=deposit_headers(token),
            )
            assert answer.status_code == 200
    finally:
        process.kill()  # no clean shutdown
        process.communicate(timeout=20)
    reopened = Simulator(SimulatorConfig(state_path=state))
    try:
        [record] = reopened.deposits()
        assert record["idflux"].encode() in answer.content
        assert [r["nature"] for r in reopened.returns(record["idflux"])][:1] == ["10"]
    finally:
        reopened.close()
