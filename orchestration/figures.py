"""matplotlib figures → PNG ``data:`` URIs (the report's images, the ML assets' metadata plots).

Figures are built with :class:`matplotlib.figure.Figure` directly (no pyplot state), which is
safe in any thread and needs no backend switch.
"""

from __future__ import annotations

import base64
import io

from matplotlib.figure import Figure


def png_data_uri(fig: Figure, dpi: int) -> str:
    """``data:image/png;base64,…`` of ``fig`` (white background, cropped to its content)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
