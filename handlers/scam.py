"""Anti-scam link check (/ceklink, and any message with a link): does every link go to an official site?

Official means the programme's own domain, prakerja.go.id, or a domain of one of the platforms in the catalogue,
each with its subdomains. The host is read the way a browser reads it, so look-alikes are caught:
`https://prakerja.go.id@evil.com` goes to evil.com (everything before `@` is a user name), a backslash ends the
host like a slash, percent-escapes in the host are decoded, and letters from other scripts show up as `xn--`
punycode. Everything not on the list is not official; link shorteners hide their target, so they cannot be
verified. Links that are not official are shown defanged (`evil[.]com`) so that the reply itself is not a link.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from urllib.parse import unquote, urlsplit

from handlers.api import Button, LinkButton, rows
from handlers.context import Context, Step
from handlers.menu import unknown
from handlers.router import GO, Routes, escape
from storage.models import Platform

routes = Routes()

PROGRAMME_DOMAIN = "prakerja.go.id"
PROGRAMME_URL = "https://www.prakerja.go.id/"
PROGRAMME_NAME = "Kartu Prakerja"
MAX_CHECKED_LINKS = 10
MAX_SHOWN_CHARS = 60
MIN_BRAND_CHARS = 8

SHORTENERS = frozenset({
    "bit.ly", "bitly.com", "s.id", "tinyurl.com", "t.co", "goo.gl", "ow.ly", "is.gd", "v.gd", "cutt.ly",
    "shorturl.at", "rebrand.ly", "rb.gy", "tiny.cc", "t.ly", "buff.ly", "lnkd.in", "bit.do", "u.to", "clck.ru",
    "shorte.st", "adf.ly", "linktr.ee", "heylink.me", "lynk.id", "tiny.one", "shorturl.asia", "short.gy",
})
# Top-level domains recognised in a bare domain without "http" or "www" ("prakerja-daftar.xyz"); with "http" or
# "www" in front any host counts. The list keeps "Rp3.550.000" or "file.txt" from being taken for a link.
BARE_TLDS = (
    "id", "com", "net", "org", "co", "me", "ly", "io", "xyz", "site", "info", "link", "top", "online", "app",
    "biz", "cc", "tk", "ml", "ga", "cf", "gq", "club", "shop", "store", "live", "vip", "icu", "buzz", "click",
    "cloud", "web", "tech", "space", "fun", "website", "pw", "ws", "to", "gl", "gd", "mu", "ee", "at", "gy",
    "one", "asia", "ru", "cn", "us", "uk", "my", "sg", "in", "tv", "ai", "dev", "page", "work", "today", "world",
    "news", "pro", "best", "win", "loan", "cyou", "sbs", "lol", "monster", "rest", "bond", "cfd",
)
_LINK = re.compile(
    r"(?:https?://|(?<![\w@./-])www\.)[^\s<>\"'`]+"
    r"|(?<![\w@./-])(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+(?:" + "|".join(BARE_TLDS) + r"|xn--[a-z0-9-]{1,59})"
    r"(?![\w-])(?::\d{1,5})?(?:[/?#][^\s<>\"'`]*)?",
    re.IGNORECASE,
)
_TRAILING = ".,;:!?)]}>'\"»”’…"


class Verdict(Enum):
    OFFICIAL = "official"
    OFFICIAL_HTTP = "official_http"  # the right site over plain http
    SHORTENER = "shortener"
    DISGUISED = "disguised"  # "official.site@evil.com"
    PUNYCODE = "punycode"  # letters from other scripts
    IMITATION = "imitation"  # carries an official name but is another domain
    NOT_OFFICIAL = "not_official"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class Finding:
    link: str  # as written in the message
    host: str  # where a browser would go (ASCII, lower case); "" if unreadable
    verdict: Verdict
    owner: str = ""  # for an official link: whose site it is

    @property
    def safe(self) -> bool:
        return self.verdict is Verdict.OFFICIAL

    @property
    def unofficial(self) -> bool:
        return self.verdict not in (Verdict.OFFICIAL, Verdict.OFFICIAL_HTTP, Verdict.SHORTENER)


def find_links(text: str) -> list[str]:
    """Every link in the text, in order, once each."""
    seen: dict[str, None] = {}
    for match in _LINK.finditer(text):
        link = match.group().rstrip(_TRAILING)
        if link:
            seen.setdefault(link)
    return list(seen)


def has_links(text: str) -> bool:
    """The router's test for the unasked check: the same link finder as /ceklink, so both see the same links."""
    return _LINK.search(text) is not None


def official_domains(platforms: list[Platform]) -> dict[str, str]:
    """domain -> whose site it is: the programme's and every platform's."""
    domains = {PROGRAMME_DOMAIN: PROGRAMME_NAME}
    for platform in platforms:
        for domain in platform.domains:
            domains[domain.lower()] = platform.name
    return domains


def _compact(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _under(host: str, domains: Iterable[str]) -> str | None:
    """The listed domain that `host` is, or is a subdomain of."""
    for domain in domains:
        if host == domain or host.endswith("." + domain):
            return domain
    return None


def browser_host(link: str) -> tuple[str, bool, bool]:
    """(host, has an explicit http:// scheme, has a user name before '@'); host "" if it cannot be read."""
    text = link.replace("\\", "/")  # browsers treat a backslash in a web address as a slash
    explicit = re.match(r"(?i)https?://", text)
    parts = urlsplit(text if explicit else "http://" + text)
    netloc = parts.netloc
    userinfo = "@" in netloc
    host = unquote(netloc.rpartition("@")[2])
    if host.startswith("["):  # IPv6 literal
        return host.lower(), bool(explicit) and parts.scheme.lower() == "http", userinfo
    host = host.rsplit(":", 1)[0] if ":" in host else host
    host = host.rstrip(".")
    try:
        host = host.encode("idna").decode("ascii").lower() if host else ""
    except UnicodeError:
        host = ""
    return host, bool(explicit) and parts.scheme.lower() == "http", userinfo


def inspect(link: str, official: dict[str, str]) -> Finding:
    host, plain_http, userinfo = browser_host(link)
    if not host or any(ch in host for ch in "/?#% "):
        return Finding(link, host, Verdict.INVALID)
    if any(label.startswith("xn--") for label in host.split(".")):
        return Finding(link, host, Verdict.PUNYCODE)
    domain = _under(host, official)
    if domain is not None:
        return Finding(link, host, Verdict.OFFICIAL_HTTP if plain_http else Verdict.OFFICIAL, official[domain])
    if _under(host, SHORTENERS):
        return Finding(link, host, Verdict.SHORTENER)
    if userinfo:
        return Finding(link, host, Verdict.DISGUISED)
    compact = _compact(host)
    imitated = next((name for name in _brands(official) if name in compact), None)
    if imitated is not None:
        return Finding(link, host, Verdict.IMITATION, imitated)
    return Finding(link, host, Verdict.NOT_OFFICIAL)


def _brands(official: dict[str, str]) -> list[str]:
    """Names a fake site would borrow: 'prakerja', 'kemnaker', 'tokopedia', 'maubelajarapa', ...

    Short everyday words (the 'sekolah' of sekolah.mu) are left out: a site named with them is not an imitation.
    """
    labels = {_compact(label) for domain in official for label in domain.split(".")[:-1]}
    names = {_compact(owner) for owner in official.values()}
    return sorted(name for name in labels | names if len(name) >= MIN_BRAND_CHARS)


def defang(text: str) -> str:
    """Make a link unclickable in the reply: evil.com -> evil[.]com."""
    return text.replace(".", "[.]")


def _shown(link: str) -> str:
    return link if len(link) <= MAX_SHOWN_CHARS else link[: MAX_SHOWN_CHARS - 1] + "…"


def _finding_line(ctx: Context, finding: Finding) -> str:
    t = ctx.t
    shown = escape(_shown(finding.link))
    host = escape(defang(finding.host))
    match finding.verdict:
        case Verdict.OFFICIAL:
            return "✅ " + t.gettext("<b>{link}</b>: situs resmi {owner}.").format(link=shown, owner=finding.owner)
        case Verdict.OFFICIAL_HTTP:
            return "⚠️ " + t.gettext(
                "<b>{link}</b>: domain resmi {owner}, tetapi tanpa <b>https</b> (sambungan tidak aman). Lebih aman"
                " ketik sendiri alamatnya dengan https://."
            ).format(link=shown, owner=finding.owner)
        case Verdict.SHORTENER:
            return "⚠️ " + t.gettext(
                "<b>{link}</b>: link pendek, tujuan sebenarnya tidak bisa diperiksa. Jangan dibuka."
            ).format(link=escape(defang(_shown(finding.link))))
    shown = escape(defang(_shown(finding.link)))
    match finding.verdict:
        case Verdict.DISGUISED:
            text = t.gettext(
                "<b>{link}</b>: BUKAN situs resmi. Tanda @ menyamarkan alamat: tujuan sebenarnya adalah {host}."
            )
        case Verdict.PUNYCODE:
            text = t.gettext(
                "<b>{link}</b>: BUKAN situs resmi. Nama domainnya memakai huruf dari abjad lain yang terlihat mirip"
                " ({host})."
            )
        case Verdict.IMITATION:
            text = t.gettext(
                "<b>{link}</b>: BUKAN situs resmi, meskipun memuat nama “{name}”. Situs palsu sering meniru nama"
                " resmi."
            )
        case Verdict.INVALID:
            text = t.gettext("<b>{link}</b>: alamat tidak wajar. Jangan dibuka.")
        case _:
            text = t.gettext("<b>{link}</b>: BUKAN situs resmi ({host}). Jangan dibuka dan jangan isi data apa pun.")
    return "❌ " + text.format(link=shown, host=host, name=escape(finding.owner))


def reminder(ctx: Context) -> str:
    return "🔒 " + ctx.t.gettext(
        "Ingat: Program Kartu Prakerja tidak pernah meminta kode OTP, PIN, kata sandi, atau pembayaran/transfer"
        " dalam bentuk apa pun. Jangan berikan kepada siapa pun, termasuk yang mengaku petugas."
    )


async def check(ctx: Context, text: str, *, unasked: bool = False) -> None:
    """Check every link in `text` and answer with a verdict per link and the reminder."""
    t = ctx.t
    links = find_links(text)
    buttons = rows(LinkButton(t.gettext("Buka situs resmi Kartu Prakerja"), PROGRAMME_URL),
                   Button(t.gettext("Cek pesan lain"), GO, "ceklink"), Button(t.gettext("Menu"), GO, "menu"))
    if not links:
        ctx.say(t.gettext("Saya tidak menemukan link di pesan itu. Tempel link-nya, atau teruskan pesan yang"
                          " berisi link.") + "\n\n" + reminder(ctx), buttons)
        return
    official = official_domains(await ctx.storage.catalogue.platforms())
    findings = [inspect(link, official) for link in links[:MAX_CHECKED_LINKS]]
    lines = []
    if unasked:
        lines.append(t.gettext("Pesan Anda berisi link. Saya periksa dulu, demi keamanan Anda:"))
    if any(f.unofficial for f in findings):
        lines.append(t.gettext("<b>Hati-hati: ada link yang BUKAN situs resmi.</b>"))
    elif not all(f.safe for f in findings):
        lines.append(t.gettext("<b>Hati-hati: ada link yang perlu diwaspadai.</b>"))
    else:
        lines.append(t.gettext("<b>Semua link menuju situs resmi.</b>"))
    lines += ["", *(_finding_line(ctx, f) for f in findings)]
    if len(links) > MAX_CHECKED_LINKS:
        lines.append(t.gettext("…dan {count} link lain tidak diperiksa. Kirim link itu terpisah.").format(
            count=len(links) - MAX_CHECKED_LINKS))
    lines += [
        "",
        t.gettext("Situs resmi Kartu Prakerja hanya <b>www.prakerja.go.id</b>. Platform pelatihan resmi ada di"
                  " /platform."),
        reminder(ctx),
    ]
    ctx.say("\n".join(lines), buttons)


@routes.command("ceklink", "checklink")
async def check_command(ctx: Context) -> None:
    if ctx.args:
        await check(ctx, ctx.args)
        return
    t = ctx.t
    await ctx.set_step(Step.SCAM_AWAIT_MESSAGE)
    ctx.say(
        t.gettext(
            "<b>Cek link mencurigakan</b>\nTeruskan (forward) pesan yang berisi link ke sini, atau tempel link-nya."
            " Saya periksa apakah link itu menuju situs resmi Kartu Prakerja atau platform pelatihannya."
        ) + "\n\n" + reminder(ctx),
        rows(Button(t.gettext("Batal"), GO, "menu")),
    )


@routes.step(Step.SCAM_AWAIT_MESSAGE)
async def message_to_check(ctx: Context) -> None:
    await ctx.end_step()
    await check(ctx, ctx.event.text)


async def unasked(ctx: Context) -> None:
    """The router's fallback for free text with a link: check it without being asked."""
    if find_links(ctx.event.text):
        await check(ctx, ctx.event.text, unasked=True)
    else:
        await unknown(ctx)
