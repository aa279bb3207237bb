"""Which models a visitor may load: the operator's choice, read from the environment at each request.

- The embedded models (assets/) and the official checkpoints of the catalogue may always be loaded.
- ``XLM_EXPLORER_ALLOWED_MODELS``: more Hub ids or server folders, comma-separated (a folder allows its sub-folders);
  the default model ``XLM_EXPLORER_MODEL`` is allowed too.
- Anything else (any Hub id, any server folder) only on a private deployment: ``XLM_EXPLORER_PUBLIC=1`` makes it
  public, ``0`` private; unset, it is public on Spaces (``SPACE_ID``) or when bound beyond localhost
  (``GRADIO_SERVER_NAME``).
- Files under Gradio's upload cache or the app's exports are never loaded as models, whatever the settings.

A refusal names no server path and reads the same whether the path is a folder, a file or nothing (no oracle of
what exists on the server).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

DEFAULT_MODEL_ENV = "XLM_EXPLORER_MODEL"  # the operator's default model: allowed like the listed ones
PUBLIC_ENV = "XLM_EXPLORER_PUBLIC"
ALLOWED_ENV = "XLM_EXPLORER_ALLOWED_MODELS"
LOOPBACK = {"", "127.0.0.1", "localhost", "::1"}
NOT_OFFERED = (
    "This deployment loads only the models in the list: pick one there (the operator chooses which)."
)
UPLOADED = "Uploaded files cannot be loaded as a model: pick a model from the list."


def public() -> bool:
    """Whether visitors are anonymous (a public deployment), from the environment."""
    flag = os.environ.get(PUBLIC_ENV, "").strip().lower()
    if flag in {"1", "true", "yes"}:
        return True
    if flag in {"0", "false", "no"}:
        return False
    return bool(os.environ.get("SPACE_ID")) or os.environ.get("GRADIO_SERVER_NAME", "") not in LOOPBACK


def note() -> str:
    """What the picker may load here, for the UI."""
    if public():
        return "This deployment loads the models in the list only (the operator's choice)."
    return "Any local folder or Hub id may be typed (a private deployment)."


def allowed_extra() -> list[str]:
    """The operator's additions: ``XLM_EXPLORER_ALLOWED_MODELS`` and the default model ``XLM_EXPLORER_MODEL``."""
    listed = f"{os.environ.get(ALLOWED_ENV, '')},{os.environ.get(DEFAULT_MODEL_ENV, '')}"
    return [entry.strip() for entry in listed.split(",") if entry.strip()]


def forbidden_roots() -> list[Path]:
    """Where files of visitors land: Gradio's cache (uploads, outputs) and the app's exports."""
    temp = Path(tempfile.gettempdir())
    gradio_cache = os.environ.get("GRADIO_TEMP_DIR") or str(temp / "gradio")
    return [Path(gradio_cache), temp / "xlm-explorer-exports"]


def _within(path: Path, root: Path) -> bool:
    try:
        return path == root.resolve() or root.resolve() in path.parents
    except OSError:
        return False


def is_upload(name: str) -> bool:
    """Whether ``name`` points into a folder where visitors' files land (links followed)."""
    try:
        path = Path(name).expanduser().resolve()
    except (OSError, RuntimeError, ValueError):
        return False
    return any(_within(path, root) for root in forbidden_roots())


def allowed_by_operator(name: str) -> bool:
    """Whether ``XLM_EXPLORER_ALLOWED_MODELS`` lists ``name`` (a Hub id exactly; a folder or one of its
    sub-folders)."""
    for entry in allowed_extra():
        if name == entry:
            return True
        if os.sep in entry and os.sep in name:
            try:
                if _within(Path(name).expanduser().resolve(), Path(entry).expanduser()):
                    return True
            except (OSError, RuntimeError, ValueError):
                continue
    return False


def may_load(name: str) -> str | None:
    """None when a visitor may load ``name`` (neither embedded nor in the catalogue: the caller checked those);
    else the message that refuses it."""
    if is_upload(name):
        return UPLOADED
    if allowed_by_operator(name) or not public():
        return None
    return NOT_OFFERED
