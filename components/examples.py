"""Example inputs in many languages; each tab offers those in the languages of the model it runs on. A model
folder's ``examples.json`` (chosen by ``python -m xlm.train examples`` from held-out sentences the model guesses
right) replaces the built-in fill-mask examples and TLM pairs of its languages."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import gradio as gr

from xlm.errors import XLMError

from .common import local_folder

# One masked sentence per language (the same meaning where possible: easy to compare across languages).
FILL_MASK = {
    "en": "The cat is sleeping on the <mask> .",
    "fr": "Le chat dort sur le <mask> .",
    "de": "Die Katze schläft auf dem <mask> .",
    "es": "El gato duerme en el <mask> .",
    "it": "Il gatto dorme sul <mask> .",
    "pt": "O gato está dormindo no <mask> .",
    "ru": "Кошка спит на <mask> .",
    "bg": "Котката спи на <mask> .",
    "el": "Η γάτα κοιμάται στον <mask> .",
    "tr": "Kedi <mask> üzerinde uyuyor .",
    "vi": "Con mèo đang ngủ trên <mask> .",
    "zh": "猫在<mask>上睡觉。",
    "ja": "猫は<mask>の上で寝ています。",
    "th": "แมวนอนอยู่บน<mask>",
    "ar": "القطة نائمة على <mask> .",
    "hi": "बिल्ली <mask> पर सो रही है ।",
    "ur": "بلی <mask> پر سو رہی ہے ۔",
    "sw": "Paka amelala juu ya <mask> .",
}

# Sentence pairs for translation language modelling (first language is English).
PARALLEL = {
    "fr": ("The file could not be <mask> .", "Le fichier n'a pas pu être ouvert ."),
    "de": ("The file could not be <mask> .", "Die Datei konnte nicht geöffnet werden ."),
    "es": ("The file could not be <mask> .", "No se pudo abrir el archivo ."),
    "it": ("The file could not be <mask> .", "Impossibile aprire il file ."),
    "pt": ("The file could not be <mask> .", "Não foi possível abrir o arquivo ."),
    "ru": ("The file could not be <mask> .", "Не удалось открыть файл ."),
    "zh": ("The file could not be <mask> .", "无法打开文件。"),
    "ja": ("The file could not be <mask> .", "ファイルを開けませんでした。"),
    "tr": ("The file could not be <mask> .", "Dosya açılamadı ."),
    "ar": ("The file could not be <mask> .", "تعذر فتح الملف ."),
}

QUESTION_ANSWERING = {
    "en": (
        "The Eiffel Tower was built by Gustave Eiffel's company for the 1889 World's Fair in Paris. "
        "It is 330 metres tall and was the tallest man-made structure in the world for 41 years.",
        "Who built the Eiffel Tower?",
    ),
    "fr": (
        "La tour Eiffel a été construite par l'entreprise de Gustave Eiffel pour l'Exposition universelle "
        "de 1889 à Paris. Elle mesure 330 mètres.",
        "Combien mesure la tour Eiffel ?",
    ),
    "de": (
        "Der Eiffelturm wurde von der Firma Gustave Eiffels für die Weltausstellung 1889 in Paris gebaut. "
        "Er ist 330 Meter hoch.",
        "Wie hoch ist der Eiffelturm?",
    ),
    "es": (
        "La torre Eiffel fue construida por la empresa de Gustave Eiffel para la Exposición Universal de "
        "1889 en París. Mide 330 metros.",
        "¿Cuánto mide la torre Eiffel?",
    ),
    "ar": (
        "بنيت برج إيفل من قبل شركة غوستاف إيفل للمعرض العالمي عام 1889 في باريس . يبلغ ارتفاعه 330 مترا .",
        "متى بني برج إيفل ؟",
    ),
    "zh": ("埃菲尔铁塔由古斯塔夫·埃菲尔的公司为1889年巴黎世界博览会建造。塔高330米。", "埃菲尔铁塔有多高？"),
}

GENERATION = {
    "en": "The weather today is",
    "fr": "Le temps aujourd'hui est",
    "de": "Das Wetter heute ist",
    "es": "El tiempo hoy es",
    "pt": "O tempo hoje está",
    "ru": "Погода сегодня",
    "zh": "今天的天气",
}

# The same short sentence in several languages, "lang | sentence" per line, for the Compare tab.
COMPARE = {
    "en": "I would like a cup of <mask> .",
    "fr": "Je voudrais une tasse de <mask> .",
    "de": "Ich hätte gern eine Tasse <mask> .",
    "es": "Quisiera una taza de <mask> .",
    "it": "Vorrei una tazza di <mask> .",
    "pt": "Eu queria uma xícara de <mask> .",
    "ru": "Я хотел бы чашку <mask> .",
    "zh": "我想要一杯<mask>。",
    "ar": "أريد فنجان <mask> .",
}


def fill_mask(model: str | None) -> dict[str, str]:
    """The fill-mask examples for ``model``: its own chosen ones where it has them, the built-in ones elsewhere."""
    chosen = _chosen_for(model).get("fill-mask", {})
    return {**FILL_MASK, **{lang: entry["text"] for lang, entry in chosen.items()}}


def parallel(model: str | None) -> dict[str, tuple[str, str]]:
    """The cross-lingual pairs (English with a mask, translation) for ``model``: its own first (the tab opens on
    the first of its languages), then the built-in ones of the other languages."""
    chosen = {lang: (e["text"], e["pair"]) for lang, e in _chosen_for(model).get("cross-lingual", {}).items()}
    return chosen | {lang: pair for lang, pair in PARALLEL.items() if lang not in chosen}


def _chosen_for(model: str | None) -> dict:
    """The model's examples.json, or nothing (none, or a model that cannot be read: its tab says why)."""
    if not model:
        return {}
    try:
        path = local_folder(model) / "examples.json"
    except (XLMError, gr.Error):
        return {}
    return _read(str(path), path.stat().st_mtime_ns if path.is_file() else 0)


@functools.lru_cache(maxsize=32)
def _read(path: str, mtime_ns: int) -> dict:
    """An examples.json, read once per version of the file."""
    return json.loads(Path(path).read_text(encoding="utf-8")) if mtime_ns else {}


def for_languages(table: dict[str, object], languages: tuple[str, ...] | list[str]) -> dict[str, object]:
    """The examples of ``table`` in the given languages (all of them for a model without language ids)."""
    if not languages:
        return dict(table)
    return {lang: table[lang] for lang in languages if lang in table}


def compare_text(languages: tuple[str, ...] | list[str], limit: int = 4) -> str:
    """Default input of the Compare tab: up to ``limit`` of the model's languages, English first."""
    chosen = list(for_languages(COMPARE, languages))
    chosen = sorted(chosen, key=lambda lang: lang != "en")[:limit]
    return "\n".join(f"{lang} | {COMPARE[lang]}" for lang in chosen)
