"""Figures of the logit-lens and language-swap views, as pure functions of their pipelines' output."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from xlm.pipelines.inputs import NO_LANGUAGE

from .plots import BAR, HEAT, PAIR_BAR, _layout, masks_of, safe


def layer_names(n: int) -> list[str]:
    """Axis labels of the lens's layers: 0 is the embeddings' output."""
    return ["0 (embeddings)", *(str(i) for i in range(1, n))]


def answer_by_layer(lens: dict[str, Any]) -> go.Figure:
    """The final answer's probability (left axis) and rank (right axis, log scale, 1 at the top) at every layer."""
    layers = lens["layers"]
    x = [layer["layer"] for layer in layers]
    answer = safe(lens["answer"]["token_str"])
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(
        go.Scatter(
            x=x,
            y=[layer["answer_score"] for layer in layers],
            mode="lines+markers",
            name="probability",
            marker_color=BAR,
            hovertemplate="layer %{x}: p = %{y:.4f}<extra></extra>",
        ),
        secondary_y=False,
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=[layer["answer_rank"] for layer in layers],
            mode="lines+markers",
            name="rank",
            marker_color=PAIR_BAR,
            line={"dash": "dot"},
            hovertemplate="layer %{x}: rank %{y}<extra></extra>",
        ),
        secondary_y=True,
    )
    fig.update_xaxes(title_text="layer (0 = embeddings)", dtick=1)
    fig.update_yaxes(title_text="probability", rangemode="tozero", secondary_y=False)
    fig.update_yaxes(title_text="rank (log)", type="log", autorange="reversed", secondary_y=True)
    fig.update_layout(legend={"orientation": "h", "y": -0.25})
    return _layout(fig, f"The final answer “{answer}” at every layer", 380)


def lens_heatmap(lens: dict[str, Any]) -> go.Figure:
    """Layer × rank: each cell a layer's guess at that rank (its text) coloured by its probability; the last
    layer on top, as the model reads upwards."""
    layers = lens["layers"]
    names = layer_names(len(layers))
    k = len(layers[0]["top"])
    fig = go.Figure(
        go.Heatmap(
            z=[[g["score"] for g in layer["top"]] for layer in layers],
            x=[f"#{r}" for r in range(1, k + 1)],
            y=names,
            text=[[safe(g["token_str"], 16) for g in layer["top"]] for layer in layers],
            texttemplate="%{text}",
            colorscale=HEAT,
            zmin=0,
            hovertemplate="layer %{y}, rank %{x}: %{text} (p = %{z:.4f})<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="rank", side="top")
    fig.update_yaxes(title_text="layer", type="category")
    return _layout(fig, "Top guesses read out of every layer", 140 + 34 * len(layers))


def swap_bars(out: dict[str, Any]) -> go.Figure:
    """Per mask (rows), the top-k guesses with the own language (left) and with the other (right), on one
    probability scale."""
    runs = out["runs"]
    per_run = [masks_of(run["predictions"]) for run in runs]
    n_masks = len(per_run[0])
    titles = [f"mask {m + 1}: {label(run)}" for m in range(n_masks) for run in runs]
    fig = make_subplots(rows=n_masks, cols=2, subplot_titles=titles, horizontal_spacing=0.15)
    top = max(
        g["score"] for masks in per_run for guesses in masks for g in guesses
    )  # one scale for both runs
    for col, (masks, colour) in enumerate(zip(per_run, (BAR, PAIR_BAR), strict=True), start=1):
        for row, guesses in enumerate(masks, start=1):
            fig.add_trace(
                go.Bar(
                    x=[g["score"] for g in guesses][::-1],
                    y=[safe(g["token_str"]) for g in guesses][::-1],
                    orientation="h",
                    marker_color=colour,
                    hovertemplate="%{y}: %{x:.3f}<extra></extra>",
                ),
                row=row,
                col=col,
            )
            fig.update_xaxes(range=[0, min(1.0, 1.15 * top)], title_text="probability", row=row, col=col)
    fig.update_layout(showlegend=False)
    k = max(len(g) for masks in per_run for g in masks)
    return _layout(fig, "Guesses with each language embedding", 120 + n_masks * (60 + 26 * k))


def label(run: dict[str, Any]) -> str:
    """How a swap run is named on the page."""
    return "no language embedding" if run["lang"] == NO_LANGUAGE else f"language {run['lang']}"


def attention_shift_plot(shift: Sequence[float]) -> go.Figure:
    """Per layer, how far attention moved (mean total variation of the attention rows: 0 same, 1 disjoint)."""
    fig = go.Figure(
        go.Scatter(
            x=list(range(len(shift))),
            y=list(shift),
            mode="lines+markers",
            marker_color=BAR,
            hovertemplate="layer %{x}: %{y:.3f}<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="layer", dtick=1)
    fig.update_yaxes(title_text="total variation", range=[0, 1])
    return _layout(fig, "How far attention moves, layer by layer", 320)
