"""Build the parallel training corpus from Debian's gettext catalogues and the XQuAD paragraphs.

Two stages, both deterministic:

1. ``extract``: ``apt-get install`` the fixed :data:`PACKAGES` list (Debian 12), read every ``.mo`` file that
   ``dpkg -L`` lists for them with polib, keep English -> translation message pairs for :data:`LOCALES`, clean
   them, and split them by a hash of the English side (so a message is held out in every language at once).
   Writes ``raw/pairs.<lang>.<split>.tsv`` (english, translation, package) and ``raw/sources.json`` (package versions, licences, counts).
2. ``prepare``: runs the tokenizer's preprocessing (Moses / jieba, lowercasing, accent removal: exactly what
   :class:`xlm.tokenization.XLMTokenizer` does before BPE) on every side and on the XQuAD paragraphs
   of the training articles, and writes ``tok/pairs.<lang>.<split>.tsv`` plus ``tok/mono.<lang>.train.txt``.

Command (also run by ``make train``)::

    python -m xlm.train corpus --out runs/corpus --install

XQuAD (CC BY-SA 4.0) is split by article: the articles whose index is in :data:`XQUAD_HELDOUT_ARTICLES` are never
seen in pre-training nor QA fine-tuning and serve as held-out evaluation data for every language.
"""

from __future__ import annotations

import json
import re
import subprocess
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
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
    "fr": "fr",
    "de": "de",
    "es": "es",
    "ru": "ru",
    "zh_CN": "zh",
    "it": "it",
    "tr": "tr",
    "pt_BR": "pt",
    "pt": "pt",
}
LANGS = ("en", "de", "es", "fr", "it", "pt", "ru", "tr", "zh")  # alphabetical = lang2id order

HELDOUT_BUCKETS = {0: "test", 1: "valid"}  # crc32(english) % 100 -> split; everything else is "train"
XQUAD_LANGS = ("en", "de", "es", "zh")
XQUAD_HELDOUT_ARTICLES = frozenset(range(0, 48, 4))  # 12 of the 48 articles

_ACCEL = re.compile(r"(?<![\w%])[_&](?=\w)")  # menu accelerators: "_File", "&Open"
_SPACES = re.compile(r"\s+")
_LETTER = re.compile(r"[^\W\d_]")


def split_of(english: str) -> str:
    """The split a message pair belongs to, decided by its English side only."""
    return HELDOUT_BUCKETS.get(zlib.crc32(english.encode("utf-8")) % 100, "train")


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


def extract(out: Path, packages: tuple[str, ...] = PACKAGES, install: bool = False) -> dict:
    """Stage 1: read the catalogues of ``packages`` into ``out/raw``; return the statistics written."""
    if install:
        install_packages(packages)
    raw = Path(out) / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    pairs: dict[str, dict[tuple[str, str], str]] = {lang: {} for lang in LANGS if lang != "en"}  # -> package
    sources = {}
    for package in tqdm(packages, desc="reading catalogues", unit="pkg"):
        info = package_info(package)
        counts: Counter[str] = Counter()
        for mo in info.pop("mo_files"):
            lang = LOCALES.get(_locale_of(mo) or "")
            if lang is None:
                continue
            for pair in read_catalogue(mo):
                if pair not in pairs[lang]:
                    pairs[lang][pair] = package
                    counts[lang] += 1
        sources[package] = {**info, "new_pairs": dict(sorted(counts.items()))}
    totals = {}
    for lang, found in pairs.items():
        by_split: dict[str, list[str]] = {"train": [], "valid": [], "test": []}
        for (en, xx), package in found.items():
            by_split[split_of(en)].append(f"{en}\t{xx}\t{package}\n")
        for split, lines in by_split.items():
            (raw / f"pairs.{lang}.{split}.tsv").write_text("".join(lines), encoding="utf-8")
        totals[lang] = {split: len(lines) for split, lines in by_split.items()}
    stats = {"debian": _debian_release(), "packages": sources, "pairs": totals}
    (raw / "sources.json").write_text(
        json.dumps(stats, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return stats


def _debian_release() -> str:
    path = Path("/etc/debian_version")
    return path.read_text().strip() if path.is_file() else "unknown"


def xquad_articles(xquad_dir: Path, lang: str) -> list[dict]:
    """The articles of ``xquad.<lang>.json`` (SQuAD layout), in file order (the same order in every language)."""
    return json.loads((Path(xquad_dir) / f"xquad.{lang}.json").read_text(encoding="utf-8"))["data"]


def xquad_paragraphs(xquad_dir: Path, lang: str, heldout: bool) -> list[str]:
    """Paragraph texts of the training (``heldout=False``) or held-out articles."""
    return [
        p["context"]
        for i, art in enumerate(xquad_articles(xquad_dir, lang))
        if (i in XQUAD_HELDOUT_ARTICLES) == heldout
        for p in art["paragraphs"]
    ]


Pretokenize = Callable[[str, str], list[str]]  # (text, lang) -> words, as the tokenizer sees them before BPE


def prepare(out: Path, pretokenize: Pretokenize, xquad_dir: Path | None = None) -> dict:
    """Stage 2: pretokenize ``out/raw`` (and XQuAD) into ``out/tok``; return line counts per file."""
    raw, tok = Path(out) / "raw", Path(out) / "tok"
    tok.mkdir(parents=True, exist_ok=True)
    english: dict[str, str] = {}  # the same English message recurs in every language: preprocess it once
    mono: dict[str, list[str]] = {lang: [] for lang in LANGS}
    seen_en: set[str] = set()
    counts = {}
    for path in tqdm(sorted(raw.glob("pairs.*.tsv")), desc="preprocessing", unit="file"):
        _, lang, split, _ = path.name.split(".")
        lines = []
        for row in tqdm(
            path.read_text(encoding="utf-8").splitlines(), desc=path.name, unit="pair", leave=False
        ):
            en, xx, _package = row.split("\t")
            if en not in english:
                english[en] = " ".join(pretokenize(en, "en"))
            en_t, xx_t = english[en], " ".join(pretokenize(xx, lang))
            if not en_t or not xx_t:
                continue
            lines.append(f"{en_t}\t{xx_t}\n")
            if split == "train":
                mono[lang].append(xx_t)
                if en_t not in seen_en:
                    seen_en.add(en_t)
                    mono["en"].append(en_t)
        (tok / path.name).write_text("".join(lines), encoding="utf-8")
        counts[path.name] = len(lines)
    if xquad_dir is not None:
        for lang in XQUAD_LANGS:
            mono[lang].extend(
                " ".join(pretokenize(p, lang)) for p in xquad_paragraphs(xquad_dir, lang, False)
            )
    for lang, lines in mono.items():
        (tok / f"mono.{lang}.train.txt").write_text("".join(x + "\n" for x in lines), encoding="utf-8")
        counts[f"mono.{lang}.train.txt"] = len(lines)
    (tok / "counts.json").write_text(json.dumps(counts, indent=2) + "\n", encoding="utf-8")
    return counts


def xlm_pretokenizer() -> Pretokenize:
    """The words our XLMTokenizer feeds to BPE: its preprocessing, then lower-casing and accent removal."""
    from xlm.models.xlm.preprocessing import Preprocessor, lowercase_and_remove_accents

    pre = Preprocessor()

    def pretokenize(text: str, lang: str) -> list[str]:
        return [w for w in (lowercase_and_remove_accents(x) for x in pre.words(text, lang)) if w]

    return pretokenize
