"""Fine-tuned heads that kept their base model's word embeddings store them once.

Such a head is written as an ordinary sharded Hub checkpoint (``model.safetensors.index.json`` and two shards):
the first shard holds the word embeddings alone and is a relative symbolic link to one file in a shared folder
(``assets/shared/``), named by its content; the second holds everything the fine-tuning changed. Every loader
(ours, transformers) reads the folder as it reads any sharded checkpoint, and the embeddings, three quarters of
a small model's bytes, are on disk (and in git) once for all the heads of a base.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch
from safetensors.torch import save_file

from xlm.files import SAFE_INDEX, SAFE_WEIGHTS

SHARED_SHARD = "model-00001-of-00002.safetensors"  # the link to the shared embeddings
OWN_SHARD = "model-00002-of-00002.safetensors"  # the head's own weights


def content_name(tensor: torch.Tensor) -> str:
    """A file name for ``tensor`` from a hash of its dtype, shape and bytes: equal tensors share one file."""
    digest = hashlib.sha256(f"{tensor.dtype}{tuple(tensor.shape)}".encode())
    digest.update(tensor.contiguous().view(torch.uint8).numpy().tobytes())
    return f"word-embeddings-{digest.hexdigest()[:16]}.safetensors"


def save_sharing_embeddings(
    state: dict[str, torch.Tensor], folder: Path, shared: Path, key: str = "transformer.embeddings.weight"
) -> Path:
    """Write ``state`` into ``folder`` as two shards, ``state[key]`` in ``shared`` (once per content) and linked
    from the first shard. Returns the shared file."""
    folder, shared = Path(folder), Path(shared)
    folder.mkdir(parents=True, exist_ok=True)
    shared.mkdir(parents=True, exist_ok=True)
    embeddings = state[key].detach().contiguous()
    target = shared / content_name(embeddings)
    if not target.is_file():
        save_file({key: embeddings}, target, metadata={"format": "pt"})
    own = {k: v.detach().contiguous() for k, v in state.items() if k != key}
    for name in (SAFE_WEIGHTS, SHARED_SHARD, OWN_SHARD):
        (folder / name).unlink(missing_ok=True)
    save_file(own, folder / OWN_SHARD, metadata={"format": "pt"})
    (folder / SHARED_SHARD).symlink_to(os.path.relpath(target, folder))
    total = sum(v.numel() * v.element_size() for v in state.values())
    index = {
        "metadata": {"total_size": total},
        "weight_map": {k: SHARED_SHARD if k == key else OWN_SHARD for k in sorted(state)},
    }
    (folder / SAFE_INDEX).write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    return target


def prune_shared(assets: Path, shared: Path) -> list[Path]:
    """Delete the files of ``shared`` that no folder of ``assets`` links to any more; return them."""
    linked = {link.resolve() for link in Path(assets).glob(f"*/{SHARED_SHARD}") if link.is_symlink()}
    stale = [p for p in sorted(Path(shared).glob("*.safetensors")) if p.resolve() not in linked]
    for path in stale:
        path.unlink()
    return stale
