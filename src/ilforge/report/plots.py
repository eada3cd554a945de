"""Matplotlib helpers returning PNG bytes (Agg backend, no display)."""

from __future__ import annotations

import io


def figure_png(fig) -> bytes:
    """PNG bytes of a matplotlib figure (closed afterwards)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def new_figure(width_in: float = 6.0, height_in: float = 4.0):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width_in, height_in))


def line_plot(series: dict[str, tuple], xlabel: str, ylabel: str, title: str = "", logx=False, logy=False) -> bytes:
    """``series``: label -> (x, y[, yerr])."""
    fig, ax = new_figure()
    for label, data in series.items():
        if len(data) == 3 and data[2] is not None:
            ax.errorbar(data[0], data[1], yerr=data[2], label=label, capsize=3)
        else:
            ax.plot(data[0], data[1], label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    if len(series) > 1:
        ax.legend(fontsize=8)
    return figure_png(fig)
