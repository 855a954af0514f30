"""Answers from a trained model: `Predictor` (one picture, a table, a split), scores and the
submission file, ONNX export and the ONNX Runtime predictor, and Grad-CAM saliency."""

from ..utils.lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "evaluate": ("evaluate", "predict_submission", "write_submission"),
        "onnx_export": ("export_onnx",),
        "onnx_runtime": ("OnnxPredictor",),
        "predictor": ("Prediction", "Predictor"),
        "saliency": ("explain",),
    },
)
