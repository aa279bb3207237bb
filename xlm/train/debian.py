"""What Debian gives the corpus: gettext catalogues (UI messages) and LibreOffice's help pages, both translated
from English, so both give aligned pairs.

- gettext: ``apt-get install`` the fixed :data:`PACKAGES` list (Debian 12), read every ``.mo`` file that ``dpkg -L``
  lists for them with polib and keep English -> translation message pairs for :data:`LOCALES`.
- LibreOffice help: ``apt-get download`` the ``libreoffice-help-<lang>`` packages and unpack them with
  ``dpkg-deb -x`` (LibreOffice itself is not installed); every help page is HTML whose paragraphs carry the same
  ``id`` in every language, which aligns them with the English (``en-us``) page.
"""

from __future__ import annotations

import html.parser
import re
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from tqdm import tqdm

from xlm.errors import MissingDependencyError

# Debian 12 (bookworm) packages whose gettext catalogues make the corpus. Fixed on purpose: the corpus changes
# only when this list (or Debian's package versions, recorded in sources.json) changes.
PACKAGES = [
    "adduser",
    "apt",
    "aptitude-common",
    "bash",
    "binutils-common",
    "bison",
    "coreutils",
    "cpio",
    "diffutils",
    "dpkg",
    "e2fsprogs-l10n",
    "findutils",
    "gawk",
    "gcc-12-locales",
    "gettext",
    "gettext-base",
    "git",
    "gnupg-l10n",
    "grep",
    "iso-codes",
    "libc-l10n",
    "libdpkg-perl",
    "libglib2.0-data",
    "libgpg-error-l10n",
    "libgtk-3-common",
    "libgtk2.0-common",
    "m4",
    "make",
    "man-db",
    "mc-data",
    "nano",
    "procps",
    "psmisc",
    "sed",
    "shared-mime-info",
    "sharutils",
    "tar",
    "util-linux-locales",
    "wget",
    "xkb-data",
    "xz-utils",
]

# gettext locale folder -> our language code (the first matching folder wins; pt takes pt_BR's messages too).
LOCALES = {
    "fr": "fr", "de": "de", "es": "es", "ru": "ru", "zh_CN": "zh", "it": "it", "tr": "tr", "pt_BR": "pt", "pt": "pt",
    "ar": "ar", "hi": "hi", "vi": "vi", "bg": "bg", "el": "el", "th": "th", "sw": "sw", "ur": "ur",
}  # fmt: skip

# Our language code -> the libreoffice-help package suffix (Debian 12 has no Arabic, Bulgarian, Thai, Swahili or
# Urdu help; English is the side every page is aligned to).
HELP_PACKAGES = {
    "en": "en-us", "fr": "fr", "es": "es", "de": "de", "it": "it", "pt": "pt", "ru": "ru", "zh": "zh-cn",
    "hi": "hi", "tr": "tr", "vi": "vi", "el": "el",
}  # fmt: skip

_ACCEL = re.compile(r"(?<![\w%])[_&](?=\w)")  # menu accelerators: "_File", "&Open"
_SPACES = re.compile(r"\s+")
_LETTER = re.compile(r"[^\W\d_]")


def install_packages(packages: list[str] | tuple[str, ...] = PACKAGES) -> None:
    """``apt-get update`` then install the packages (needs root and Debian's package registry)."""
    env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    cmd = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages]
    subprocess.run(cmd, check=True, env=env)


def package_info(package: str) -> dict:
    """Version, licence (from the DEP-5 copyright file where there is one) and catalogue files of a package."""
    version = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True, text=True, check=True
    ).stdout
    files = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True, check=True).stdout.split()
    return {
        "version": version,
        "licence": _licence(Path("/usr/share/doc") / package / "copyright"),
        "mo_files": sorted(f for f in files if f.endswith(".mo") and "/LC_MESSAGES/" in f),
    }


def _licence(copyright_file: Path) -> str:
    if not copyright_file.is_file():
        return "unknown (no copyright file)"
    text = copyright_file.read_text(encoding="utf-8", errors="replace")
    stanza = re.search(r"^Files:\s*\*\s*$(.*?)(?:^\s*$|\Z)", text, flags=re.M | re.S)
    found = re.search(r"^License:[ \t]*(\S.*)$", stanza.group(1) if stanza else text, flags=re.M)
    if found:
        return found.group(1).strip()
    names = re.findall(r"\b(L?GPL[-v ]?\d[.\d+]*|GNU (?:Lesser |Library )?General Public License)", text)
    return Counter(names).most_common(1)[0][0] if names else "see " + str(copyright_file)


def clean(text: str) -> str:
    """Drop menu accelerators and collapse whitespace."""
    return _SPACES.sub(" ", _ACCEL.sub("", text)).strip()


def message_pairs(msgid: str, msgstr: str) -> Iterator[tuple[str, str]]:
    """Aligned (english, translation) pairs of one message; multi-line messages pair line by line when they can."""
    src = [s for s in (clean(x) for x in msgid.split("\n")) if s]
    tgt = [s for s in (clean(x) for x in msgstr.split("\n")) if s]
    if len(src) != len(tgt):
        src, tgt = [" ".join(src)], [" ".join(tgt)]
    for en, xx in zip(src, tgt, strict=True):
        if _keep(en, xx):
            yield en, xx


def _keep(en: str, xx: str) -> bool:
    if not en or not xx or en == xx or not _LETTER.search(en) or not _LETTER.search(xx):
        return False
    n_words = len(en.split())
    return n_words <= 80 and 0.1 <= len(xx) / len(en) <= 6


def read_catalogue(path: str) -> Iterator[tuple[str, str]]:
    """(english, translation) pairs of a ``.mo`` file; plural entries use their first form."""
    try:
        import polib
    except ImportError as err:  # pragma: no cover - polib is a training dependency
        raise MissingDependencyError("building the corpus needs polib (pip install polib)") from err
    for entry in polib.mofile(path):
        msgstr = entry.msgstr_plural.get(0, "") if entry.msgid_plural else entry.msgstr
        if entry.msgid and msgstr:
            yield from message_pairs(entry.msgid, msgstr)


def _locale_of(mo_path: str) -> str | None:
    parts = Path(mo_path).parts
    return parts[parts.index("LC_MESSAGES") - 1] if "LC_MESSAGES" in parts else None


def gettext_pairs(packages: tuple[str, ...] = PACKAGES, install: bool = False) -> tuple[dict, dict]:
    """``({lang: [(english, translation)]}, {package: version, licence, counts})`` from the installed catalogues;
    each pair once, in package order."""
    if install:
        install_packages(packages)
    pairs: dict[str, dict[tuple[str, str], None]] = {}
    sources = {}
    for package in tqdm(packages, desc="reading catalogues", unit="pkg"):
        info = package_info(package)
        counts: Counter[str] = Counter()
        for mo in info.pop("mo_files"):
            lang = LOCALES.get(_locale_of(mo) or "")
            if lang is None:
                continue
            found = pairs.setdefault(lang, {})
            for pair in read_catalogue(mo):
                if pair not in found:
                    found[pair] = None
                    counts[lang] += 1
        sources[package] = {**info, "new_pairs": dict(sorted(counts.items()))}
    return {lang: list(found) for lang, found in sorted(pairs.items())}, sources


def download_help(dest: Path, langs: tuple[str, ...] = tuple(HELP_PACKAGES)) -> dict[str, str]:
    """``apt-get download`` + ``dpkg-deb -x`` the help packages into ``dest/<lang>``; return the package versions."""
    dest = Path(dest)
    debs = dest / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    versions = {}
    for lang in tqdm(langs, desc="LibreOffice help", unit="pkg"):
        package = f"libreoffice-help-{HELP_PACKAGES[lang]}"
        if not list(debs.glob(f"{package}_*.deb")):
            subprocess.run(["apt-get", "download", "-qq", package], cwd=debs, check=True)
        deb = sorted(debs.glob(f"{package}_*.deb"))[-1]
        versions[package] = deb.name.split("_")[1].replace("%3a", ":")
        if not (dest / lang).is_dir():
            subprocess.run(["dpkg-deb", "-x", str(deb), str(dest / lang)], check=True)
    return versions


class _HelpPage(html.parser.HTMLParser):
    """Collects the text of every element whose ``id`` names a help paragraph or heading (``par_id…``, ``hd_id…``)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: dict[str, list[str]] = {}
        self._open: list[tuple[str, str | None]] = []  # (tag, paragraph id or None)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID_TAGS:
            return
        pid = dict(attrs).get("id") or ""
        self._open.append((tag, pid if _PARAGRAPH_ID.match(pid) else None))

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self._open.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        if tag_id := next((pid for _, pid in reversed(self._open) if pid), None):
            self.texts.setdefault(tag_id, []).append(data)


_VOID_TAGS = frozenset({"br", "img", "input", "meta", "link", "hr", "source", "wbr", "col", "area"})
_PARAGRAPH_ID = re.compile(r"(?:par|hd)_id\w+")


def help_paragraphs(root: Path, lang: str) -> dict[str, str]:
    """``{"<page path>#<paragraph id>": text}`` of one language's unpacked help (``root/<lang>``)."""
    help_dir = Path(root) / lang / "usr/share/libreoffice/help"
    base = next(
        p for p in sorted(help_dir.iterdir()) if p.is_dir() and p.name != "media"
    )  # en-US, zh-CN, ...
    out = {}
    for page in sorted(base.rglob("*.html")):
        parser = _HelpPage()
        parser.feed(page.read_text(encoding="utf-8", errors="replace"))
        rel = page.relative_to(base).as_posix()
        for pid, parts in parser.texts.items():
            text = clean("".join(parts))
            if _LETTER.search(text):
                out[f"{rel}#{pid}"] = text
    return out


def help_pairs(root: Path, langs: tuple[str, ...] = tuple(HELP_PACKAGES)) -> dict[str, list[tuple[str, str]]]:
    """``{lang: [(english, translation)]}``: paragraphs aligned by page and id; untranslated ones (equal to the
    English) are dropped."""
    english = help_paragraphs(root, "en")
    out = {}
    for lang in langs:
        if lang == "en":
            continue
        found = help_paragraphs(root, lang)
        pairs = dict.fromkeys(
            (english[k], t) for k, t in found.items() if k in english and _keep(english[k], t)
        )
        out[lang] = list(pairs)
    return out


def debian_release() -> str:
    path = Path("/etc/debian_version")
    return path.read_text().strip() if path.is_file() else "unknown"
