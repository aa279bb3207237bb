"""Where a checkpoint's files are: a local folder or a Hub snapshot, and its JSON files. No torch here.

A checkpoint is a local folder or a Hub repo id. Hub repos go through ``huggingface_hub.snapshot_download``, so the
standard cache, ``HF_HUB_OFFLINE``, ``HF_HOME`` and revisions all behave as users of ``transformers`` expect.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from .errors import CorruptCheckpointError, ModelNotFoundError

CONFIG_NAME = "config.json"
SAFE_WEIGHTS = "model.safetensors"
SAFE_INDEX = "model.safetensors.index.json"
PICKLE_WEIGHTS = "pytorch_model.bin"
PICKLE_INDEX = "pytorch_model.bin.index.json"
# Files worth fetching from a Hub repo: configs, tokenizer files and the model card; the weights only to load a model:
# safetensors, or pickles (single or sharded) where a repo has nothing else. Sub-folders (ONNX exports, ...) are never
# read, so never fetched.
HUB_PATTERNS = ["*.json", "*.txt", "*.md", "*.model"]
SAFE_PATTERNS = ["*.safetensors"]
PICKLE_PATTERNS = ["pytorch_model*.bin", PICKLE_INDEX]
SUBFOLDERS = ["*/*"]


_HUB_ID = re.compile(r"^[\w.-]+(/[\w.-]+)?$")


def is_hub_id(name: str) -> bool:
    """True for strings shaped like ``org/name`` or ``name`` (no path separators beyond one slash)."""
    return bool(_HUB_ID.match(name)) and not name.startswith((".", "~"))


_FORCE_DOWNLOAD = re.compile(r"\s*Please retry with `?force_download=True`?\.?", re.IGNORECASE)


def resolve_model_dir(
    name_or_path: str | os.PathLike,
    revision: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool | None = None,
    weights: bool = True,
    token: str | bool | None = None,
    subfolder: str = "",
) -> Path:
    """Return the local folder of a checkpoint (or of its ``subfolder``): the folder itself, or a Hub snapshot
    (downloaded or cached).

    ``local_files_only=None`` follows ``HF_HUB_OFFLINE``. ``weights=False`` (tokenizer, config) fetches no weights.
    ``token`` is sent to the Hub as ``huggingface_hub`` sends it (a string, or True/False: the stored login or
    none); a local folder needs none. Raises :class:`ModelNotFoundError` with a message that says what was tried.
    """
    name = os.fspath(name_or_path)
    if not name.strip():
        raise ModelNotFoundError(
            "No model given: pass a local folder or a Hub id such as FacebookAI/xlm-mlm-en-2048."
        )
    sub = _subfolder(subfolder)
    path = Path(name).expanduser()
    if path.is_dir():
        folder = path / sub
    elif path.exists():
        raise ModelNotFoundError(
            f"{name} is a file; a model is a folder holding config.json and its weights."
        )
    elif not is_hub_id(name):
        raise ModelNotFoundError(f"No such model folder: {name}")
    else:
        folder = _snapshot(name, revision, cache_dir, local_files_only, weights, token, sub) / sub
    if not folder.is_dir():
        raise ModelNotFoundError(f"{name} has no sub-folder {sub!r}.")
    return folder


def _subfolder(subfolder: str | os.PathLike | None) -> str:
    """A sub-folder as the Hub names it ("a/b"; "" for none), refused if it leaves the checkpoint."""
    sub = Path(subfolder or "").as_posix().strip("/")
    if sub == ".":
        return ""
    if Path(sub).is_absolute() or ".." in Path(sub).parts:
        raise ModelNotFoundError(f"subfolder={subfolder!r} must be a folder inside the checkpoint.")
    return sub


def _in_subfolder(patterns: list[str], sub: str) -> list[str]:
    """File patterns of the checkpoint's root moved into ``sub``."""
    return [f"{sub}/{pattern}" if sub else pattern for pattern in patterns]


def _snapshot(
    repo_id: str,
    revision: str | None,
    cache_dir: Any,
    local_files_only: bool | None,
    weights: bool,
    token: str | bool | None,
    sub: str,
) -> Path:
    """The snapshot folder of a Hub repo holding the files we read from ``sub`` (the repo's root for "")."""
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        HFValidationError,
        IncompleteSnapshotError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    # huggingface_hub also honours transformers' older name for the switch
    offline = (
        local_files_only
        if local_files_only is not None
        else _env_flag("HF_HUB_OFFLINE") or _env_flag("TRANSFORMERS_OFFLINE")
    )
    common = {"revision": revision, "cache_dir": cache_dir, "token": token}
    ignore = _in_subfolder(SUBFOLDERS, sub)
    try:
        wanted = HUB_PATTERNS + SAFE_PATTERNS if weights else HUB_PATTERNS
        folder = Path(
            snapshot_download(
                repo_id,
                local_files_only=offline,
                allow_patterns=_in_subfolder(wanted, sub),
                ignore_patterns=ignore,
                **common,
            )
        )
        if weights and not offline and not _has_weights(folder / sub):
            # Old repos ship only pickled weights: fetch them, to be read with weights_only=True.
            folder = Path(
                snapshot_download(
                    repo_id,
                    allow_patterns=_in_subfolder(PICKLE_PATTERNS, sub),
                    ignore_patterns=ignore,
                    **common,
                )
            )
    except HFValidationError as err:
        raise ModelNotFoundError(
            f"{repo_id!r} is neither a local folder nor a valid Hub id ({err})."
        ) from err
    except RevisionNotFoundError as err:
        raise ModelNotFoundError(f"Hub repo {repo_id} has no revision {revision!r}.") from err
    except GatedRepoError as err:
        raise ModelNotFoundError(
            f"Hub repo {repo_id} is gated: pass token= (or log in) with a token that has access."
        ) from err
    except RepositoryNotFoundError as err:
        raise ModelNotFoundError(
            f"No model {repo_id!r} on the Hub (and no local folder of that name); a private repo needs token= "
            "(or a login) with access."
        ) from err
    except (LocalEntryNotFoundError, OfflineModeIsEnabled) as err:
        partly = isinstance(err, IncompleteSnapshotError)
        raise ModelNotFoundError(_not_cached(repo_id, partly, offline, constants.ENDPOINT)) from err
    except OSError as err:  # network failures surface as OSError subclasses
        reason = " ".join(str(err).split())  # one line, whatever the client's message looks like
        reason = _FORCE_DOWNLOAD.sub("", reason).rstrip(
            " ."
        )  # the client's advice: not a thing a visitor can do
        raise ModelNotFoundError(
            f"Could not download {repo_id!r} from the Hub: {reason}. Nothing partial was kept: try again."
        ) from err
    if (
        weights and offline and not _has_weights(folder / sub)
    ):  # only a tokenizer's or a config's files were fetched
        raise ModelNotFoundError(_not_cached(repo_id, True, offline, constants.ENDPOINT))
    return folder


def _has_weights(folder: Path) -> bool:
    """Whether all weight files of a folder are there (a shard index is a *.json, fetched without its shards)."""
    files = weight_files(folder)
    return bool(files) and all(file.is_file() for file in files)


def _not_cached(repo_id: str, partly: bool, offline: bool, endpoint: str) -> str:
    """The message for a repo that is missing from the cache, or part of it, when nothing can be downloaded."""
    cached = "only partly" if partly else "not"
    why = "offline mode is on (HF_HUB_OFFLINE)" if offline else f"the Hub at {endpoint} cannot be reached"
    return (
        f"Model {repo_id!r} is {cached} in the local Hub cache and {why}. "
        "Download it once online, or pass a local folder."
    )


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def read_json(path: Path) -> dict[str, Any]:
    """Read a JSON object, raising :class:`CorruptCheckpointError` with the file name when it is not one."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ModelNotFoundError(f"{Path(path).name} not found in {Path(path).parent}") from err
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CorruptCheckpointError(f"{path} is not valid JSON: {err}") from err
    if not isinstance(data, dict):
        raise CorruptCheckpointError(f"{path} should hold a JSON object, found {type(data).__name__}.")
    return data


def weight_files(folder: Path) -> list[Path]:
    """The weight files of a checkpoint folder, preferring safetensors, following shard indexes."""
    for single, index in ((SAFE_WEIGHTS, SAFE_INDEX), (PICKLE_WEIGHTS, PICKLE_INDEX)):
        if (folder / single).is_file():
            return [folder / single]
        if (folder / index).is_file():
            shards = sorted(set(read_json(folder / index).get("weight_map", {}).values()))
            return [folder / shard for shard in shards]
    return []
