"""Hypothesis strategies for what users and platforms can send: texts, Telegram updates, WhatsApp webhooks.

Shapes are valid-ish by default (what Telegram and Meta really send, with odd content) and sometimes broken (a
field missing, a wrong type, an unknown kind), so that both the happy parsing path and the refusal path are
walked. Every value is generated: no phone number, NIK or card of a real person.
"""

from __future__ import annotations

import time
from typing import Any

from hypothesis import strategies as st

from handlers import MODULES
from handlers.api import MAX_ACTION_BYTES
from handlers.router import GO

COMMANDS = sorted({name for routes in MODULES for name in routes.commands})
ACTIONS = sorted({name for routes in MODULES for name in routes.actions} | {GO})
SQL = ("'; DROP TABLE accounts; --", "\" OR 1=1 --", "1); DELETE FROM chats; --",
       "%' UNION SELECT nik_hash FROM accounts --", "Robert'); DROP TABLE students;--", "\\x00' OR ''='")
ODD_TEXTS = (
    "", " ", "\n\n", "\u200b", "\u202e\u0644\u0627", "x" * 10_000, "😀" * 3_000, "a" * 4_097, "<b>", "</i>", "&",
    "&amp;",
    "<a href='javascript:alert(1)'>x</a>", "<tg-spoiler>", "/", "/ ", "//start", "/start@OtherBot", "/START", "menu",
    "batal", "0" * 16, "3171 2345 0790 0001", "+62 811 0000 0001", "https://prakerja.go.id.evil.xyz/login",
    "www.prakerja.go.id", "\x00\x01\x02", "\ud7ff\ue000\uffff", "🇮🇩" * 100, *SQL,
)
# Unicode without lone surrogates (no JSON carries them from Telegram) and without NUL-only oddities beyond ODD_TEXTS.
UNICODE = st.characters(exclude_categories=("Cs",))


def texts(max_size: int = 300) -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(UNICODE, max_size=max_size),
        st.sampled_from(ODD_TEXTS),
        st.builds(lambda c, a: f"/{c} {a}".rstrip(), st.sampled_from(COMMANDS), st.text(UNICODE, max_size=40)),
        st.integers(min_value=0, max_value=10**20).map(str),
    )


def callback_data() -> st.SearchStrategy[str]:
    """Forged button payloads: real action names with any argument, or anything up to Telegram's 64 bytes."""
    forged = st.builds(lambda a, arg: f"{a}:{arg}" if arg else a, st.sampled_from(ACTIONS),
                       st.one_of(st.sampled_from(COMMANDS), st.text(UNICODE, max_size=30), st.sampled_from(SQL),
                                 st.integers(-2**63, 2**63).map(str)))
    return st.one_of(forged, st.text(UNICODE, max_size=64)).filter(lambda d: len(d.encode()) <= MAX_ACTION_BYTES)


PHONES = st.one_of(
    st.sampled_from(["6281100000001", "+6281100000003", "081100000002", "6281299999999", "+1 202 555 0100", "",
                     "0", "++62", "abc", *SQL]),
    st.text("0123456789+ -()", max_size=20),
)
FILE_NAMES = st.one_of(
    st.sampled_from(["data.csv", "../../etc/passwd", "..\\..\\windows\\win.ini", "/etc/shadow.csv", "ktp.pdf",
                     "a" * 300 + ".csv", "nul", ".csv", "", "data.csv\x00.exe", *SQL]),
    st.text(UNICODE, max_size=60),
)


@st.composite
def telegram_update(draw: st.DrawFn, user_id: int, bot_message: dict[str, Any] | None) -> dict[str, Any]:
    """One Telegram update dict from `user_id` (its private chat, or a group), of any kind, sometimes malformed."""
    sender: dict[str, Any] = {"id": user_id, "is_bot": draw(st.sampled_from([False, False, False, True])),
                              "first_name": draw(st.one_of(st.text(UNICODE, min_size=1, max_size=20),
                                                           st.sampled_from(SQL)))}
    language = draw(st.sampled_from([None, "id", "en", "en-US", "xx", "", "zz-ZZ-x", "'; --"]))
    if language is not None:
        sender["language_code"] = language
    chat = draw(st.sampled_from([
        {"id": user_id, "type": "private", "first_name": "Pemohon"},
        {"id": user_id, "type": "private", "first_name": "Pemohon"},
        {"id": -1001234567890, "type": "supergroup", "title": "Alumni"},
        {"id": -4242, "type": "group", "title": "Keluarga"},
        {"id": -1009999, "type": "channel", "title": "Info"},
    ]))
    message: dict[str, Any] = {"message_id": draw(st.integers(1, 2**31 - 1)), "date": int(time.time()),
                               "chat": chat, "from": sender}
    content = draw(st.sampled_from(["text", "text", "text", "contact", "document", "sticker", "photo", "location",
                                    "voice", "nothing"]))
    if content == "text":
        message["text"] = draw(texts())
        if message["text"].startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0,
                                    "length": len(message["text"].split()[0]) if message["text"].split() else 1}]
        elif draw(st.booleans()):
            message["entities"] = [{"type": "text_link", "offset": 0, "length": 1,
                                    "url": draw(st.sampled_from(["https://prakerja.go.id", "http://bit.ly/x"]))}]
    elif content == "contact":
        contact: dict[str, Any] = {"phone_number": draw(PHONES), "first_name": "Kontak"}
        owner = draw(st.sampled_from(["own", "other", "none"]))
        if owner != "none":
            contact["user_id"] = user_id if owner == "own" else user_id + 1
        message["contact"] = contact
    elif content == "document":
        message["document"] = {"file_id": draw(st.text(UNICODE, min_size=1, max_size=30)), "file_unique_id": "u1",
                               "file_name": draw(FILE_NAMES),
                               "file_size": draw(st.integers(0, 2**31)),
                               "mime_type": draw(st.sampled_from(["text/csv", "application/pdf", "", "x/y"]))}
    elif content == "sticker":
        message["sticker"] = {"file_id": "s", "file_unique_id": "s", "type": "regular", "width": 512, "height": 512,
                              "is_animated": False, "is_video": False}
    elif content == "photo":
        message["photo"] = [{"file_id": "p", "file_unique_id": "p", "width": 90, "height": 90}]
        message["caption"] = draw(texts(100))
    elif content == "location":
        message["location"] = {"latitude": draw(st.floats(-90, 90)), "longitude": draw(st.floats(-180, 180))}
    elif content == "voice":
        message["voice"] = {"file_id": "v", "file_unique_id": "v", "duration": draw(st.integers(0, 10**6))}
    kind = draw(st.sampled_from(["message", "message", "message", "edited_message", "callback_query",
                                 "callback_query", "my_chat_member", "channel_post", "poll_answer"]))
    broken = draw(st.sampled_from([None] * 6 + ["date", "chat", "from", "message_id", "wrong-type"]))
    if broken == "wrong-type":
        message["message_id"] = draw(st.sampled_from(["abc", None, 1.5, [], {}]))
    elif broken is not None:
        message.pop(broken, None)
    update: dict[str, Any] = {"update_id": draw(st.integers(1, 2**31 - 1))}
    if kind in ("message", "edited_message", "channel_post"):
        if kind == "edited_message":
            message["edit_date"] = int(time.time())
        update[kind] = message
    elif kind == "callback_query":
        query: dict[str, Any] = {"id": str(draw(st.integers(1, 10**12))), "from": sender, "chat_instance": "ci"}
        where = draw(st.sampled_from(["bot-message", "bot-message", "inaccessible", "inline", "none"]))
        if where == "bot-message" and bot_message is not None:
            query["message"] = bot_message
        elif where == "inaccessible":
            query["message"] = {"chat": chat, "message_id": 1, "date": 0}
        elif where == "inline":
            query["inline_message_id"] = "im-1"
        if draw(st.integers(0, 9)) > 0:
            query["data"] = draw(callback_data())
        update["callback_query"] = query
    elif kind == "my_chat_member":
        status = draw(st.sampled_from(["kicked", "member", "left"]))
        bot_user = {"id": 123456789, "is_bot": True, "first_name": "b"}
        update["my_chat_member"] = {"chat": chat, "from": sender, "date": 0,
                                    "old_chat_member": {"status": "member", "user": bot_user},
                                    "new_chat_member": {"status": status, "user": bot_user,
                                                        **({"until_date": 0} if status == "kicked" else {})}}
    else:
        update["poll_answer"] = {"poll_id": "1", "option_ids": [0], "user": sender}
    return update


def expects_reply(update: dict[str, Any]) -> int | None:
    """The chat that must get an answer to this update (a person's private message or button), else None."""
    for kind in ("message", "edited_message"):
        message = update.get(kind)
        if isinstance(message, dict):
            sender, chat = message.get("from"), message.get("chat")
            if isinstance(sender, dict) and not sender.get("is_bot") and isinstance(chat, dict) \
                    and chat.get("type") == "private":
                return int(chat["id"])
    query = update.get("callback_query")
    if isinstance(query, dict) and "data" in query and isinstance(query.get("message"), dict):
        chat = query["message"].get("chat", {})
        if chat.get("type") == "private":
            return int(chat["id"])
    return None


# --- WhatsApp ---------------------------------------------------------------------------------------------------

WA_TYPES = ("text", "interactive", "button", "contacts", "document", "image", "audio", "sticker", "reaction",
            "location", "unsupported", "order", "system", "nonsense")


@st.composite
def whatsapp_message(draw: st.DrawFn, wa_id: str) -> dict[str, Any]:
    kind = draw(st.sampled_from(WA_TYPES))
    message: dict[str, Any] = {"from": wa_id, "id": f"wamid.FUZZ{draw(st.integers(0, 10**12))}",
                               "timestamp": str(int(time.time())), "type": kind}
    if kind == "text":
        message["text"] = {"body": draw(texts())}
    elif kind == "interactive":
        reply = draw(st.sampled_from(["button_reply", "list_reply", "nfm_reply"]))
        message["interactive"] = {"type": reply, reply: {"id": draw(callback_data()),
                                                         "title": draw(st.text(UNICODE, max_size=30))}}
    elif kind == "button":
        message["button"] = {"payload": draw(callback_data()), "text": draw(st.text(UNICODE, max_size=20))}
    elif kind == "contacts":
        message["contacts"] = [{"name": {"formatted_name": "K"}, "phones": [{"phone": draw(PHONES),
                                                                             "wa_id": draw(PHONES)}]}]
    elif kind == "document":
        message["document"] = {"id": "d1", "filename": draw(FILE_NAMES), "mime_type": "text/csv",
                               "sha256": "x"}
    elif kind in ("image", "audio", "sticker"):
        message[kind] = {"id": "m1", "mime_type": "image/webp"}
    elif kind == "reaction":
        message["reaction"] = {"message_id": "wamid.X", "emoji": "👍"}
    elif kind == "location":
        message["location"] = {"latitude": 0, "longitude": 0}
    elif kind == "nonsense":
        message[draw(st.text(UNICODE, min_size=1, max_size=5))] = draw(st.sampled_from([None, 1, "x", [], {}]))
    if draw(st.integers(0, 7)) == 0:  # a broken field
        message[draw(st.sampled_from(["from", "id", "type", "timestamp"]))] = draw(st.sampled_from([None, 5, [], {}]))
    return message


@st.composite
def whatsapp_payload(draw: st.DrawFn, wa_id: str, phone_id: str) -> Any:
    """A webhook body as Meta posts it (messages, statuses), or one of its broken variants."""
    messages = draw(st.lists(whatsapp_message(wa_id), min_size=0, max_size=2))
    statuses = draw(st.lists(st.fixed_dictionaries({
        "id": st.text(UNICODE, max_size=20), "status": st.sampled_from(["sent", "delivered", "read", "failed", "x"]),
        "timestamp": st.just(str(int(time.time()))), "recipient_id": st.sampled_from([wa_id, "", "abc"]),
    }), max_size=2))
    value: dict[str, Any] = {"messaging_product": "whatsapp",
                             "metadata": {"display_phone_number": "15550000000", "phone_number_id": phone_id},
                             "contacts": [{"profile": {"name": draw(st.text(UNICODE, max_size=20))}, "wa_id": wa_id}],
                             "messages": messages, "statuses": statuses}
    body: Any = {"object": "whatsapp_business_account",
                 "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}]}
    shape = draw(st.sampled_from(["ok"] * 6 + ["list", "string", "no-entry", "entry-not-list", "value-null",
                                               "other-phone-id", "messages-dict"]))
    match shape:
        case "list":
            body = [body]
        case "string":
            body = "hello"
        case "no-entry":
            del body["entry"]
        case "entry-not-list":
            body["entry"] = {"id": "1"}
        case "value-null":
            body["entry"][0]["changes"][0]["value"] = None
        case "other-phone-id":
            value["metadata"]["phone_number_id"] = "999"
        case "messages-dict":
            value["messages"] = {"0": messages[0] if messages else {}}
    return body


# --- a NIK as people type it (issue 14.1): any grouping, any separators, inside a sentence or alone ---------------
NIK_SEPARATORS = ("", " ", "  ", "   ", "-", " - ", "--", ".", ". ", "\u00a0", "\t", "\n", "\u2013", " \u2014 ", "_",
                  "/", "\u200b", " . ")
NIK_GROUPS = ((4, 4, 4, 4), (2, 2, 2, 6, 4), (6, 6, 4), (8, 8), (16,), (1,) * 16, (3, 3, 3, 3, 4))
NIK_SENTENCES = ("{nik}", "NIK saya {nik}", "nik sy {nik} kak", "ini NIK: {nik}, tolong dicek", "{nik}\nterima kasih",
                 "NIK ({nik})", "my nik is {nik}")


@st.composite
def typed_nik(draw: st.DrawFn, nik: str, *, in_sentence: bool = True) -> str:
    """`nik` as a person might type it: grouped (or not), with one kind of separator or a different one in each gap."""
    groups = draw(st.sampled_from(NIK_GROUPS), label="groups")
    cuts, at = [], 0
    for size in groups:
        cuts.append(nik[at:at + size])
        at += size
    if draw(st.booleans(), label="one separator"):
        separator = draw(st.sampled_from(NIK_SEPARATORS), label="separator")
        typed = separator.join(cuts)
    else:
        typed = cuts[0]
        for cut in cuts[1:]:
            typed += draw(st.sampled_from(NIK_SEPARATORS)) + cut
    sentence = draw(st.sampled_from(NIK_SENTENCES)) if in_sentence else "{nik}"
    return sentence.format(nik=typed)
