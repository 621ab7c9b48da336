"""The training loss as a PNG (matplotlib's Agg backend: no display, no fonts fetched)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import TrackroomError


def write_loss_png(losses: Sequence[tuple[int, float]], path: str | Path, title: str = "ReID training loss") -> Path:
    """Plot (step, loss) pairs, raw and smoothed, into ``path``. Returns the path."""
    path = Path(path)
    if not path.parent.is_dir():
        raise TrackroomError(f"Output folder does not exist: {path.parent}")
    points = [(int(s), float(v)) for s, v in losses if np.isfinite(v)]
    if not points:
        raise TrackroomError("There is no loss to plot yet.")
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure  # no pyplot: no global state, safe in worker threads

    steps = np.array([s for s, _ in points])
    values = np.array([v for _, v in points])
    window = max(1, len(values) // 20)
    smooth = np.convolve(values, np.ones(window) / window, mode="valid")
    fig = Figure(figsize=(6.4, 3.6), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(steps, values, color="#9bb7d4", linewidth=0.8, label="loss")
    if window > 1:
        ax.plot(steps[window - 1 :], smooth, color="#1f5fa8", linewidth=2, label=f"mean of {window} steps")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path
