"""Plotly figures as pure functions of pipeline output (plain lists and dicts in, a Figure out).

PNG export happens in the browser: every figure keeps Plotly's mode bar, whose camera button saves a PNG
(no server-side renderer such as kaleido + Chrome is needed).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .limits import GRID_SIDE

HEAT = "Blues"
BAR = "#3b6fb6"
PAIR_BAR = "#e07b39"


def safe(label: str, limit: int = 48) -> str:
    """A label Plotly shows as written: its text is HTML-like, so ``<s>`` would strike through the rest."""
    label = label if len(label) <= limit else label[: limit - 1] + "…"
    return label.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def spacing(panels: int, wanted: float) -> float:
    """The gap between ``panels`` side by side: ``wanted``, narrowed so that the gaps take at most half the width
    (Plotly refuses a gap wider than 1 / (panels - 1))."""
    return wanted if panels < 2 else min(wanted, 0.5 / (panels - 1))


def _layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.01}, height=height, margin={"l": 10, "r": 10, "t": 60, "b": 10}
    )
    return fig


def masks_of(predictions: Any) -> list[list[dict[str, Any]]]:
    """fill-mask output for one text → one list of guesses per mask (a single mask comes unwrapped)."""
    if predictions and isinstance(predictions[0], dict):
        return [predictions]
    return list(predictions)


def mask_bars(
    predictions: Any, title: str = "Predictions for each mask", labels: Sequence[str] = ()
) -> go.Figure:
    """One horizontal bar chart per mask: the top-k tokens and their probabilities, best on top."""
    masks = masks_of(predictions)
    names = list(labels) or [f"mask {i + 1}" for i in range(len(masks))]
    fig = make_subplots(
        rows=1, cols=len(masks), subplot_titles=names, horizontal_spacing=spacing(len(masks), 0.12)
    )
    for col, guesses in enumerate(masks, start=1):
        fig.add_trace(
            go.Bar(
                x=[g["score"] for g in guesses][::-1],
                y=[safe(g["token_str"]) for g in guesses][::-1],
                orientation="h",
                marker_color=BAR,
                name=names[col - 1],
                hovertemplate="%{y}: %{x:.3f}<extra></extra>",
            ),
            row=1,
            col=col,
        )
        fig.update_xaxes(range=[0, 1], title_text="probability", row=1, col=col)
    fig.update_layout(showlegend=False)
    return _layout(fig, title, 140 + 28 * max(len(g) for g in masks))


def paired_bars(with_pair: Any, alone: Any, title: str) -> go.Figure:
    """Per mask, the probabilities with the translation beside the text and without it, token by token."""
    panels = len(masks_of(with_pair))
    fig = make_subplots(rows=1, cols=panels, horizontal_spacing=spacing(panels, 0.12))
    for col, (both, solo) in enumerate(zip(masks_of(with_pair), masks_of(alone), strict=True), start=1):
        solo_scores = {g["token"]: g["score"] for g in solo}
        tokens = [safe(g["token_str"]) for g in both][::-1]
        fig.add_trace(
            go.Bar(
                x=[g["score"] for g in both][::-1],
                y=tokens,
                orientation="h",
                name="with the translation",
                marker_color=BAR,
                showlegend=col == 1,
                hovertemplate="%{y}: %{x:.3f} with the translation<extra></extra>",
            ),
            row=1,
            col=col,
        )
        fig.add_trace(
            go.Bar(
                x=[solo_scores.get(g["token"], 0.0) for g in both][::-1],
                y=tokens,
                orientation="h",
                name="sentence alone (0 = not in its top-k)",
                marker_color=PAIR_BAR,
                showlegend=col == 1,
                hovertemplate="%{y}: %{x:.3f} alone<extra></extra>",
            ),
            row=1,
            col=col,
        )
        fig.update_xaxes(range=[0, 1], title_text="probability", row=1, col=col)
    fig.update_layout(barmode="group", legend={"orientation": "h", "y": -0.25})
    return _layout(fig, title, 200 + 40 * max(len(m) for m in masks_of(with_pair)))


def label_bars(scores: Sequence[dict[str, Any]], title: str = "Label scores") -> go.Figure:
    """Scores of labels or answer spans: ``[{"label", "score"}, ...]``."""
    fig = go.Figure(
        go.Bar(
            x=[s["score"] for s in scores][::-1],
            y=[safe(s["label"]) for s in scores][::-1],
            orientation="h",
            marker_color=BAR,
            hovertemplate="%{y}: %{x:.3f}<extra></extra>",
        )
    )
    fig.update_xaxes(range=[0, 1], title_text="score")
    return _layout(fig, title, 120 + 30 * len(scores))


def reduce_attention(attentions: Any, layer: int | None = None, head: int | None = None) -> np.ndarray:
    """``attentions[layer][head][q][k]`` → one (q, k) matrix; ``None`` averages over all layers or heads."""
    att = np.asarray(attentions, dtype=np.float32)
    att = att.mean(axis=0) if layer is None else att[layer]
    return att.mean(axis=0) if head is None else att[head]


def token_labels(tokens: Sequence[str], langs: Sequence[str | None] = ()) -> list[str]:
    """Unique axis labels (Plotly merges equal category names): position, token and language."""
    langs = list(langs) or [None] * len(tokens)
    return [
        f"{i}:{tok}" + (f" [{lang}]" if lang else "")
        for i, (tok, lang) in enumerate(zip(tokens, langs, strict=True))
    ]


def attention_heatmap(
    matrix: Any,
    queries: Sequence[str],
    keys: Sequence[str] | None = None,
    title: str = "Attention",
    split: int | None = None,
) -> go.Figure:
    """A (query, key) heatmap: row = the token attending, column = the token attended to, hover shows both.
    ``split``: where the second sentence of a pair starts; lines mark the four blocks (within and across)."""
    matrix = np.asarray(matrix, dtype=np.float32)
    keys = queries if keys is None else keys
    fig = go.Figure(
        go.Heatmap(
            z=matrix,
            x=[safe(k) for k in keys],
            y=[safe(q) for q in queries],
            colorscale=HEAT,
            zmin=0,
            zmax=float(matrix.max()) if matrix.size else 1.0,
            hovertemplate="%{y} → %{x}<br>attention %{z:.3f}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", title_text="from (query)")
    fig.update_xaxes(title_text="to (key)", tickangle=-60)
    if split and split < len(queries):
        line = {"color": PAIR_BAR, "width": 2}
        fig.add_vline(x=split - 0.5, line=line)
        fig.add_hline(y=split - 0.5, line=line)
    side = 260 + 18 * len(queries)
    return _layout(fig, title, min(side, 900))


def pooled(matrices: np.ndarray, side: int) -> np.ndarray:
    """The last two axes of ``matrices`` averaged over blocks of neighbouring cells, so that neither has more than
    ``side`` cells (blocks as even as the size allows)."""
    for axis in (-2, -1):
        n = matrices.shape[axis]
        if n > side:
            starts = np.linspace(0, n, side + 1).astype(int)[:-1]
            sizes = np.diff(np.append(starts, n)).astype(np.float32)
            shape = [1] * matrices.ndim
            shape[axis] = side
            matrices = np.add.reduceat(matrices, starts, axis=axis) / sizes.reshape(shape)
    return matrices


def attention_grid(attentions: Any, title: str = "Every layer (rows) × head (columns)") -> go.Figure:
    """Small heatmaps of every layer and head, to spot heads with a pattern (diagonal, first token, ...). A panel
    is too small to show a long text's every token: beyond :data:`limits.GRID_SIDE` cells a side, it shows block
    means (which keeps the page light for big models)."""
    att = pooled(np.asarray(attentions, dtype=np.float32), GRID_SIDE)
    layers, heads = att.shape[:2]
    fig = make_subplots(
        rows=layers,
        cols=heads,
        row_titles=[f"L{layer}" for layer in range(layers)],
        column_titles=[f"H{head}" for head in range(heads)],
        horizontal_spacing=0.01,
        vertical_spacing=0.01,
    )
    for layer in range(layers):
        for head in range(heads):
            fig.add_trace(
                go.Heatmap(
                    z=att[layer, head],
                    coloraxis="coloraxis",
                    hovertemplate=f"layer {layer} head {head}<br>%{{y}} → %{{x}}: %{{z:.3f}}<extra></extra>",
                ),
                row=layer + 1,
                col=head + 1,
            )
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False, autorange="reversed")
    fig.update_layout(
        coloraxis={"colorscale": HEAT, "cmin": 0, "cmax": float(att.max()) if att.size else 1.0}
    )
    return _layout(fig, title, 80 + 90 * layers)


def token_attention(matrix: Any, tokens: Sequence[str], query: int, title: str | None = None) -> go.Figure:
    """Where one token looks: its row of an attention matrix as bars over the tokens it attends to."""
    row = np.asarray(matrix, dtype=np.float32)[query]
    fig = go.Figure(
        go.Bar(
            x=[safe(t) for t in tokens],
            y=row,
            marker_color=BAR,
            hovertemplate="→ %{x}: %{y:.3f}<extra></extra>",
        )
    )
    fig.update_yaxes(range=[0, 1], title_text="attention")
    fig.update_xaxes(tickangle=-60)
    return _layout(fig, title or f"Where {safe(tokens[query])} looks", 360)


def compare_bars(per_language: dict[str, Any], title: str = "Predictions per language") -> go.Figure:
    """Fill-mask predictions of several languages side by side (first mask of each sentence)."""
    langs = list(per_language)
    fig = make_subplots(
        rows=1, cols=len(langs), subplot_titles=langs, horizontal_spacing=spacing(len(langs), 0.08)
    )
    for col, lang in enumerate(langs, start=1):
        guesses = masks_of(per_language[lang])[0]
        fig.add_trace(
            go.Bar(
                x=[g["score"] for g in guesses][::-1],
                y=[safe(g["token_str"]) for g in guesses][::-1],
                orientation="h",
                marker_color=BAR,
                hovertemplate=f"{lang}: %{{y}} %{{x:.3f}}<extra></extra>",
            ),
            row=1,
            col=col,
        )
        fig.update_xaxes(range=[0, 1], row=1, col=col)
    fig.update_layout(showlegend=False)
    return _layout(fig, title, 140 + 28 * max(len(masks_of(v)[0]) for v in per_language.values()))


def compare_heatmaps(per_language: dict[str, dict[str, Any]], title: str) -> go.Figure:
    """Attention (averaged over heads of one layer, or as given) of several languages side by side.
    ``per_language[lang] = {"tokens": [...], "matrix": (q, k)}``."""
    langs = list(per_language)
    fig = make_subplots(
        rows=1, cols=len(langs), subplot_titles=langs, horizontal_spacing=spacing(len(langs), 0.06)
    )
    for col, lang in enumerate(langs, start=1):
        item = per_language[lang]
        labels = [safe(label) for label in token_labels(item["tokens"])]
        fig.add_trace(
            go.Heatmap(
                z=np.asarray(item["matrix"], dtype=np.float32),
                x=labels,
                y=labels,
                coloraxis="coloraxis",
                hovertemplate=f"{lang}: %{{y}} → %{{x}}<br>%{{z:.3f}}<extra></extra>",
            ),
            row=1,
            col=col,
        )
        fig.update_yaxes(autorange="reversed", row=1, col=col)
        fig.update_xaxes(tickangle=-60, row=1, col=col)
    top = max(float(np.max(v["matrix"])) for v in per_language.values())
    fig.update_layout(coloraxis={"colorscale": HEAT, "cmin": 0, "cmax": top})  # one scale for all languages
    longest = max(len(v["tokens"]) for v in per_language.values())
    return _layout(fig, title, min(900, 300 + 16 * longest))


def cross_share(attentions: Any, side: Sequence[int]) -> list[float]:
    """Per layer, the mean share of attention (over heads and query tokens) that goes to the *other* side of a
    sentence pair: how much the two languages read each other."""
    att = np.asarray(attentions, dtype=np.float32)  # (layers, heads, q, k)
    side = np.asarray(side)
    other = side[:, None] != side[None, :]  # (q, k): key is on the other side of the query
    return [float((att[layer] * other).sum(-1).mean()) for layer in range(att.shape[0])]


def cross_share_plot(
    shares: Sequence[float], title: str = "Attention that crosses to the other language"
) -> go.Figure:
    fig = go.Figure(
        go.Scatter(
            x=list(range(len(shares))),
            y=list(shares),
            mode="lines+markers",
            marker_color=BAR,
            hovertemplate="layer %{x}: %{y:.1%}<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="layer", dtick=1)
    fig.update_yaxes(title_text="share of attention", range=[0, 1], tickformat=".0%")
    return _layout(fig, title, 320)
