"""`.env.example` copied to `.env` as it says, only the token and the pepper filled: `run`, `serve` and the demo
start (issue 12.2: the blank `TELEGRAM_WEBHOOK_SECRET=` and `WHATSAPP_PHONE_ID=` stopped every command)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.auxil.cluster import free_port
from tests.auxil.fake_bot_api import FakeBotApi
from tests.cli.processes import ROOT, START_WITHIN, clean_env, start, stop, wait_healthy

PEPPER = "env-example-pepper-0123456789"


@pytest.fixture
def folder(tmp_path: Path, api: FakeBotApi) -> Path:
    """A folder with `.env` = `.env.example` verbatim but for the two lines a newcomer fills in."""
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    filled = text.replace("\nTELEGRAM_BOT_TOKEN=\n", f"\nTELEGRAM_BOT_TOKEN={api.token}\n").replace(
        "\nNIK_PEPPER=\n", f"\nNIK_PEPPER={PEPPER}\n")
    assert filled.count("\n") == text.count("\n") and api.token in filled and PEPPER in filled
    (tmp_path / ".env").write_text(filled, encoding="utf-8")
    return tmp_path


def telegram_at(api: FakeBotApi, **more: object) -> dict[str, str]:
    """Only where Telegram is changes (the fake on loopback; the file names api.telegram.org)."""
    return clean_env(TELEGRAM_API_URL=api.base_url, **more)


async def test_run_starts_polling(folder: Path, api: FakeBotApi) -> None:
    log = folder / "run.log"
    bot = await start(["run"], folder, telegram_at(api), log)
    try:
        await api.wait_for("getUpdates", within=START_WITHIN)
    finally:
        assert await stop(bot) == 0, log.read_text()
    text = log.read_text()
    assert "polling as @" in text and "Traceback" not in text
    assert "NIK_PEPPER is the key of every stored NIK hash" in text  # the warning at start, once
    assert (folder / "data" / "prakerja.sqlite3").exists()  # DATABASE_PATH of the file, relative to the folder


async def test_serve_starts_and_says_what_it_will_not_do_without_public_url(folder: Path, api: FakeBotApi) -> None:
    port = free_port()
    log = folder / "serve.log"
    server = await start(["serve"], folder, telegram_at(api, HOST="127.0.0.1", PORT=port), log)
    try:
        await wait_healthy(port, server, log)
    finally:
        assert await stop(server) == 0, log.read_text()
    text = log.read_text()
    warnings = [line for line in text.splitlines() if "PUBLIC_URL is not set" in line]
    assert len(warnings) == 1 and "webhook is not set" in warnings[0]  # issue 12.3: it said nothing
    assert "Traceback" not in text
    assert not [c for c in api.calls if c.method == "setWebhook"]


async def test_serve_sets_the_webhook_with_a_secret_nobody_had_to_invent(folder: Path, api: FakeBotApi) -> None:
    port = free_port()
    log = folder / "serve.log"
    env = telegram_at(api, HOST="127.0.0.1", PORT=port, PUBLIC_URL="https://bot.example.test")
    server = await start(["serve"], folder, env, log)
    try:
        await wait_healthy(port, server, log)
        (call,) = [c for c in api.calls if c.method == "setWebhook"]
        assert call.params["url"] == "https://bot.example.test/telegram/webhook"
        secret = call.params["secret_token"]
        assert len(secret) >= 32  # derived from the token: TELEGRAM_WEBHOOK_SECRET was left blank
        import httpx

        async with httpx.AsyncClient() as client:
            url = f"http://127.0.0.1:{port}/telegram/webhook"
            assert (await client.post(url, json={"update_id": 1})).status_code == 403  # no secret: refused
            ok = await client.post(url, json={"update_id": 1}, headers={"X-Telegram-Bot-Api-Secret-Token": secret})
            assert ok.status_code == 200
    finally:
        assert await stop(server) == 0, log.read_text()


def test_demo_starts(folder: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "bot", "chat", "--demo"], input="/keluar\n", cwd=folder,
                          env=clean_env(), capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "Pemohon demo" in done.stdout and not done.stderr
