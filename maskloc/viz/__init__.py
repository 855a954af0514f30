"""Pictures: boxes drawn on images (truth green, prediction red) and the plotly figures the app
shows (curves, alpha sweeps, dataset plots, confusion matrices). No Streamlit here."""

from ..utils.lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "charts": ("alpha_figure", "confusion_figure", "loss_figure", "metrics_figure"),
        "drawing": ("LabeledBox", "draw_boxes", "image_grid", "predicted_box", "truth_box"),
    },
)
