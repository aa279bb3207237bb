"""What every tab shares: finding models, choosing the model a task runs on, friendly errors, exports."""

from __future__ import annotations

import csv
import functools
import inspect
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd
import psutil

from xlm import pipelines, resources  # pipelines: a lazy package (torch loads with the first model)
from xlm.errors import ModelNotFoundError, XLMError
from xlm.files import is_hub_id, resolve_model_dir
from xlm.registry import family_of, read_config

from . import catalogue, limits, load_policy

REPO = Path(__file__).resolve().parents[1]
MODEL_ENV = load_policy.DEFAULT_MODEL_ENV  # the default model: a folder or Hub id (the operator allows it)
ASSETS_ENV = "XLM_EXPLORER_ASSETS"  # where the embedded models are (default: assets/ of the repo)
EXPORT_DIR = Path(tempfile.gettempdir()) / "xlm-explorer-exports"
EXPORT_MAX_AGE_S = 3600  # exports older than this are deleted (Gradio has served its own copy by then)

# Which trained heads (registry roles) serve each task.
LM = frozenset({"masked-lm", "causal-lm"})
TASK_ROLES: dict[str, frozenset[str]] = {
    "fill-mask": LM,
    "logit-lens": LM,
    "language-swap": LM,
    "text-generation": LM,
    "question-answering": frozenset({"question-answering", "question-answering-beam"}),
    "text-classification": frozenset({"sequence-classification"}),
    "token-classification": frozenset({"token-classification"}),
}
EXPECTED_ERRORS = (XLMError, ValueError, KeyError, OSError)
EXPORT_FAILED = (
    "The download files could not be written on the server (disk full?): the results are shown without them."
)
OUT_OF_MEMORY = "Not enough memory for this request: try a shorter input or a smaller model."
LOG = logging.getLogger("xlm_explorer")
# An absolute path in a message (not a URL, not a Hub id): shown by its last part only.
_ABSOLUTE_PATH = re.compile(r"(?<![\w:/.~-])(?:/[\w.@+~-]+)+/?")
# Every event that runs a model shares one queue slot pool (demo.queue's default_concurrency_limit), so the number
# of model calls at once is bounded for the whole app, not per button.
MODEL_WORK = "model"
# Events that read a tokenizer but run no model: the default slot count in a lane of their own (no GPU on ZeroGPU).
TEXT_WORK = "text"
# Fair queue: costly events (attention, TLM, comparisons, generation) and model loads each run one at a time in
# lanes of their own, so that one heavy visitor cannot take the slots the quick requests of others need.
HEAVY_WORK: dict[str, Any] = {"concurrency_id": "heavy", "concurrency_limit": 1}
LOADING_WORK: dict[str, Any] = {"concurrency_id": "loading", "concurrency_limit": 1}
NO_LANGUAGES = "This model has no language embeddings: the language is not an input (one vocabulary for all)."


@dataclass(frozen=True)
class ModelInfo:
    """What the app needs to know about a checkpoint without loading it (read from its config.json)."""

    path: str
    name: str
    family: str  # "XLM", "XLM-RoBERTa", ...
    architectures: tuple[str, ...]
    roles: frozenset[str]  # what its own head does (registry roles)
    languages: tuple[str, ...]  # the languages of its language embeddings (none for XLM-R)
    language_embeddings: bool  # whether its family has them at all (XLM) or not (XLM-R)
    causal: bool
    n_layers: int
    n_heads: int

    def serves(self, task: str) -> bool:
        """Whether its own (trained) head serves ``task``; tasks needing no trained head always are."""
        return task not in TASK_ROLES or bool(self.roles & TASK_ROLES[task])


_admitted: set[str] = set()  # official checkpoints that passed the memory check (at most the catalogue)


def admit(path: str) -> None:
    """Refuse an official checkpoint the machine lacks the memory for, before anything is downloaded.

    Once admitted, a checkpoint is not checked again (once loaded, the memory it holds is no longer available).
    """
    checkpoint = catalogue.BY_REPO.get(path)
    if checkpoint is None or path in _admitted:
        return
    available = psutil.virtual_memory().available
    if checkpoint.memory_bytes > available:
        raise refuse(
            f"{path} needs about {catalogue.gigabytes(checkpoint.memory_bytes)} of memory "
            f"({catalogue.millions(checkpoint.parameters)} parameters in float32, plus "
            f"{catalogue.MARGIN:.0%}) and this machine has {catalogue.gigabytes(available)} available: "
            "pick a smaller model."
        )
    _admitted.add(path)


def folder_of(path: str) -> Path:
    """The local folder of a checkpoint a visitor may load (see :mod:`components.load_policy`), checked for memory
    before anything is allocated: an embedded model by its name (so that the page never shows where it lives on
    the server), an official checkpoint (downloaded once and then remembered), or another folder or Hub id where
    the operator allows it."""
    embedded = embedded_folder(path)
    if embedded is not None:
        return guard(embedded)
    if path in catalogue.BY_REPO:
        admit(path)
        return guard(_snapshot(path))
    if not _in_assets(path):
        refusal = load_policy.may_load(path)
        if refusal:
            raise refuse(refusal)
    if is_hub_id(path) and not Path(path).expanduser().is_dir():
        return guard(_snapshot(path))
    return guard(resolve_model_dir(path))


def embedded_folder(path: str) -> Path | None:
    """The folder of an embedded model given by its name or its path, or None for any other model."""
    if is_hub_id(path) and "/" not in path:
        folder = assets_dir() / path
    elif _in_assets(path):
        folder = Path(path).expanduser()
    else:
        return None
    return folder if (folder / "config.json").is_file() else None


def local_folder(path: str | os.PathLike) -> Path:
    """The folder of a model to read (not load): an embedded one without the memory check, else :func:`folder_of`."""
    return embedded_folder(os.fspath(path)) or folder_of(os.fspath(path))


def _in_assets(path: str) -> bool:
    """Whether ``path`` is a folder of the embedded models named by its path."""
    try:
        return Path(path).expanduser().resolve().parent == assets_dir().resolve()
    except (OSError, RuntimeError, ValueError):
        return False


def guard(folder: Path) -> Path:
    """``folder`` once it is known to fit in memory (:func:`xlm.resources.check` against free memory and the model
    cache's budget for the device models run on); checked once per version of its config.json."""
    config = folder / "config.json"
    stamp = config.stat().st_mtime_ns if config.is_file() else 0
    _guarded(str(folder), stamp)
    return folder


@functools.lru_cache(maxsize=256)
def _guarded(folder: str, stamp: int) -> None:
    from xlm.devices import resolve_device  # torch: imported once a model is wanted, not to serve the page

    resources.check(folder, budget_bytes=pipelines.default_cache().budget_for(resolve_device("auto")))


@functools.lru_cache(maxsize=64)
def _snapshot(repo: str) -> Path:
    """A Hub snapshot, resolved (and downloaded) once per process; failures are not cached."""
    return resolve_model_dir(repo)


def read_info(path: str | os.PathLike) -> ModelInfo:
    """Read a checkpoint folder's config.json (a Hub id is resolved, and downloaded if needed). An embedded model
    is read without the memory check (the operator's own files; the check runs before one is loaded), so that the
    page is laid out before torch is imported."""
    folder = local_folder(path)
    config_file = folder / "config.json"
    if not config_file.is_file():
        raise ModelNotFoundError(f"{path} has no config.json: it is not a model folder.")
    return _info(os.fspath(path), str(folder), config_file.stat().st_mtime_ns)


@functools.lru_cache(maxsize=128)
def _info(path: str, folder: str, mtime_ns: int) -> ModelInfo:
    """Parsed once per version of a config file: every handler asks for it on every request. A model is named by
    its folder's name, or by its Hub id."""
    config = read_config(Path(folder))
    fam = family_of(config)
    own = next((a for a in config.architectures or [] if a in fam.head_names.values()), None)
    head = own or fam.head_name("lm", config)  # class names: the model classes (torch) are not imported here
    lang2id = (getattr(config, "lang2id", None) or {}) if config.uses_language_embeddings else {}
    return ModelInfo(
        path=path,
        name=Path(folder).name if Path(path).expanduser().is_dir() or not is_hub_id(path) else path,
        family=fam.name,
        architectures=(head,),
        roles=frozenset(role for role, name in fam.head_names.items() if name == head),
        languages=tuple(sorted(lang2id, key=lang2id.get)),
        language_embeddings=fam.language_embeddings,
        causal=bool(config.is_causal),
        n_layers=int(config.num_hidden_layers),
        n_heads=int(config.num_attention_heads),
    )


def assets_dir() -> Path:
    return Path(os.environ.get(ASSETS_ENV) or REPO / "assets")


def discover(assets: Path | None = None) -> list[ModelInfo]:
    """The embedded models: every assets/*/config.json, the multilingual masked LM first."""
    assets = assets or assets_dir()
    found = []
    for config in sorted(assets.glob("*/config.json")):
        try:  # the operator's own files: listed without the memory check, which runs before one is loaded
            found.append(_info(os.fspath(config.parent), os.fspath(config.parent), config.stat().st_mtime_ns))
        except (XLMError, ValueError, OSError):
            continue  # a half-written folder (training in progress) is skipped
    return sorted(found, key=lambda m: (not m.roles & LM, m.causal, -len(m.languages), m.name))


def default_model() -> str | None:
    """``$XLM_EXPLORER_MODEL`` if set, else the name of the first embedded model (None when there is none)."""
    if os.environ.get(MODEL_ENV):
        return os.environ[MODEL_ENV]
    models = discover()
    return models[0].name if models else None


def preload(model: str | None) -> threading.Thread | None:
    """Load ``model`` for fill-mask (the first tab) in a background thread, importing torch there, so the first
    answer does not wait for it. A failure is logged; the first request meets it again and reports it."""
    if not model:
        return None

    def load() -> None:
        try:
            get_pipeline("fill-mask", model).loaded  # noqa: B018 (the property loads the model into the cache)
        except Exception:  # the visitor's request shows the error; here it is only logged
            LOG.exception("preloading %s failed", model)

    thread = threading.Thread(target=load, name="preload", daemon=True)
    thread.start()
    return thread


def model_choices() -> list[tuple[str, str]]:
    """(label, value) pairs for the model picker: the embedded models by name, then the official checkpoints."""
    choices = [(f"{m.name} — {m.architectures[0]}", m.name) for m in discover()]
    choices += [(c.label(), c.repo) for c in catalogue.CHECKPOINTS]
    chosen = default_model()
    if chosen and chosen not in {path for _, path in choices}:
        choices.insert(0, (chosen, chosen))
    return choices


def model_for(task: str, selected: str | None) -> tuple[str, str]:
    """The checkpoint a task runs on, and a note for the user when it is not the selected one.

    A task whose head must be trained (QA, classification, tagging) uses the selected model when it has that
    head, else an embedded model that has it; with none, the selected model runs with a warning.
    """
    if not selected:
        raise refuse("No model: pick one at the top, or load one in the Model tab.")
    if task not in TASK_ROLES:
        return selected, ""
    info = read_info(selected)
    if info.serves(task):
        return selected, ""
    causal_first = sorted(discover(), key=lambda m: not m.causal) if task == "text-generation" else discover()
    for candidate in causal_first:
        if candidate.serves(task):
            return candidate.path, (
                f"The selected model has no trained {task} head, so this tab uses **{candidate.name}**."
            )
    return selected, (
        f"⚠️ No model with a trained {task} head is available: **{info.name}** runs with a randomly "
        "initialised head, so its output is meaningless."
    )


def get_pipeline(task: str, selected: str | None, **kwargs: Any):
    """The cached pipeline for a task (no model is loaded here: the first call on it does that)."""
    path, _ = model_for(task, selected)
    return _pipeline(task, os.fspath(folder_of(path)), tuple(sorted(kwargs.items())))


@functools.lru_cache(maxsize=64)
def _pipeline(task: str, path: str, options: tuple[tuple[str, Any], ...]):
    """One pipeline object per (task, model, options): it resolves the model and reads its config once."""
    return pipelines.pipeline(task, path, device="auto", **dict(options))


def session_state() -> gr.State:
    """A visitor's state (a tab's last result), dropped after ``limits.SESSION_TTL_S``."""
    return gr.State({}, time_to_live=limits.SESSION_TTL_S)


def lang_or_none(lang: str | None) -> str | None:
    return lang or None


def language_picker(languages: list[str], value: str | None, label: str, **kwargs: Any) -> gr.Dropdown:
    """A language dropdown; disabled, with a note, for a model without language embeddings (e.g. XLM-R)."""
    return gr.Dropdown(
        languages,
        value=value,
        label=label,
        allow_custom_value=True,
        interactive=bool(languages),
        info=None if languages else NO_LANGUAGES,
        **kwargs,
    )


def language_update(languages: list[str], value: str | None) -> dict[str, Any]:
    """The update that points a language dropdown at another model's languages (see :func:`language_picker`)."""
    return gr.update(
        choices=languages, value=value, interactive=bool(languages), info=None if languages else NO_LANGUAGES
    )


def example_language(lang: str | None, model: str | None) -> str | None:
    """The language an example puts in the pickers: none for a model without language embeddings."""
    return lang if model and read_info(model).languages else None


def first_language(languages: list[str] | tuple[str, ...], preferred: str = "en") -> str | None:
    """The default language of a picker: ``preferred`` when the model knows it, else its first one (or none)."""
    return preferred if preferred in languages else (languages[0] if languages else None)


def refuse(message: str) -> gr.Error:
    """The error for input the app expects to see (a bad value, a refused model): shown as it is, and no traceback
    in the server log."""
    return gr.Error(message, print_exception=False)


def without_paths(message: str) -> str:
    """``message`` with every absolute path shortened to its last part (the page never shows server paths)."""
    return _ABSOLUTE_PATH.sub(lambda m: Path(m.group().rstrip("/")).name or "/", message)


def _converted(err: BaseException) -> gr.Error:
    if isinstance(err, gr.Error):
        err.message = without_paths(str(err.message))
        err.print_exception = False
        return err
    if isinstance(err, EXPECTED_ERRORS):
        return refuse(without_paths(str(err).strip("'\"")) or type(err).__name__)
    if isinstance(err, MemoryError) or "alloc" in str(err):
        LOG.warning("refused a request: %s", type(err).__name__)
        return refuse(OUT_OF_MEMORY)
    LOG.exception("unexpected error in a handler")
    return refuse(f"The request failed ({type(err).__name__}); the server log has the details.")


def friendly(fn: Callable) -> Callable:
    """Turn the errors a handler raises into ``gr.Error`` with a message and no server path: the library's own
    message for bad input, a note for running out of memory, a short line for anything else (logged)."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen_wrapper(*args: Any, **kwargs: Any):
            try:
                yield from fn(*args, **kwargs)
            except Exception as err:
                raise _converted(err) from err

        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any):
        try:
            return fn(*args, **kwargs)
        except Exception as err:
            raise _converted(err) from err

    return wrapper


def export(stem: str, data: Any, rows: Iterable[dict[str, Any]] | None = None) -> list[str]:
    """Write ``data`` as JSON (and ``rows`` as CSV) to fresh files; return their paths for a gr.File. When they
    cannot be written (a full disk), nothing half-written is kept and the visitor is warned: the results are shown
    without downloads."""
    _prune(EXPORT_DIR, EXPORT_MAX_AGE_S)
    folder = EXPORT_DIR / uuid.uuid4().hex[:12]
    try:
        return _write_export(folder, stem, data, rows)
    except OSError as err:
        shutil.rmtree(folder, ignore_errors=True)
        LOG.warning("export not written: %s", err.strerror or type(err).__name__)
        gr.Warning(EXPORT_FAILED)
        return []


def _write_export(folder: Path, stem: str, data: Any, rows: Iterable[dict[str, Any]] | None) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{stem}.json"]
    paths[0].write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    rows = list(rows or [])
    if rows:
        paths.append(folder / f"{stem}.csv")
        with paths[1].open("w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return [str(p) for p in paths]


def _prune(root: Path, max_age_s: float) -> None:
    """Delete export folders older than ``max_age_s`` (a long-running Space must not fill its disk)."""
    if not root.is_dir():
        return
    now = time.time()
    for folder in root.iterdir():
        try:
            if now - folder.stat().st_mtime > max_age_s:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue  # removed meanwhile by another request


def table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows of dicts as a DataFrame for gr.Dataframe (column order of the first row)."""
    return pd.DataFrame(rows)


def intro_text(what: str, look_for: str) -> str:
    """The two teaching lines at the top of every tab, as Markdown."""
    return f"{what}  \n**What to look for:** {look_for}"


def intro(what: str, look_for: str) -> gr.Markdown:
    """The two teaching lines at the top of every tab."""
    return gr.Markdown(intro_text(what, look_for))


MEAN = "mean"


def layer_choices(n: int) -> list[str]:
    """Choices of a layer or head picker: "mean" (average them all), then each index."""
    return [MEAN, *(str(i) for i in range(n))]


def pick(choice: str | float | None, n: int, what: str) -> int | None:
    """A picker's value as an index (None = average); out of range → a clear error."""
    if choice in (None, "", MEAN):
        return None
    try:
        index = int(choice)
    except (TypeError, ValueError) as err:
        raise refuse(f"The {what} must be a number or {MEAN!r}, not {choice!r}.") from err
    if not 0 <= index < n:
        raise refuse(f"There is no {what} {index}: this model has {n} (0 to {n - 1}).")
    return index
