"""Publishing a wave: every linked chat gets exactly its own result, once, through the outbox and the fake Bot API."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from bot.app import App
from bot.sender import Sender
from storage.models import WaveResult
from tests.admin.conftest import NEW_WAVE, populate, queue_empty, run_until
from tests.auxil.driver import ChatDriver
from tests.auxil.fake_bot_api import FakeBotApi


async def test_publish_sends_each_linked_chat_its_own_result_once(
    app: App, api: FakeBotApi, admin: ChatDriver, make_sender: Callable[..., Sender]
) -> None:
    members = await populate(app, 300)
    opted_out, blocked = members[0], members[1]
    await app.storage.chats.set_opted_out(opted_out.chat_id, True)
    await app.storage.database.execute("UPDATE chats SET blocked = 1 WHERE id = ?", (blocked.chat_id,))
    lolos = sum(1 for m in members[2:] if m.result is WaveResult.LOLOS)

    await admin.command("umumkan", str(NEW_WAVE))
    assert f"Akan mengirim 298 pesan: {lolos} lolos, {298 - lolos} tidak lolos" in admin.text_out
    await admin.press("Ya, umumkan")
    assert "diumumkan" in admin.text_out
    await run_until(make_sender(), queue_empty(app))

    sent = Counter(str(call.chat_id) for call in api.sent())
    assert set(sent) == {m.external_id for m in members[2:]}
    assert set(sent.values()) == {1}
    for member in members[2:]:
        (text,) = api.texts(member.external_id)
        if member.result is WaveResult.LOLOS:
            assert f"Gelombang {NEW_WAVE}: Lolos" in text and "Tidak Lolos" not in text
        else:
            assert f"Gelombang {NEW_WAVE}: Tidak Lolos" in text
    # The applicant sees the same result in /hasil now that the wave is published.
    wave = await app.storage.waves.get(NEW_WAVE)
    assert wave is not None and wave.published


async def test_publishing_twice_sends_nothing_twice(
    app: App, api: FakeBotApi, admin: ChatDriver, make_sender: Callable[..., Sender]
) -> None:
    members = await populate(app, 50)
    await admin.command("umumkan", str(NEW_WAVE))
    confirm = admin.button("Ya, umumkan")
    await admin.press("Ya, umumkan")
    await run_until(make_sender(), queue_empty(app))
    assert len(api.sent()) == 50

    await admin.command("umumkan", str(NEW_WAVE))
    assert "Tidak ada yang dikirim lagi" in admin.text_out
    await admin.action(confirm.action, confirm.arg)  # the old confirm button, pressed again
    late = (await populate(app, 1, seed=8, first_chat=600_000))[0]  # linked after the first publish
    await admin.action(confirm.action, confirm.arg)
    await run_until(make_sender(), queue_empty(app))

    sent = Counter(str(call.chat_id) for call in api.sent())
    assert sent[late.external_id] == 1
    assert all(sent[m.external_id] == 1 for m in members)
    assert len(api.sent()) == 51
