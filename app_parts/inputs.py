"""What the pages accept from a user: the picture types an upload may have, and the library
errors a bad input raises (shown with their reason, never as a traceback)."""

from __future__ import annotations

from maskloc.data.images import ImageError
from maskloc.data.table import DataError
from maskloc.models.checkpoint import CheckpointError
from maskloc.models.weights import WeightsUnavailable

USER_ERRORS = (DataError, ImageError, CheckpointError, WeightsUnavailable)


IMAGE_TYPES = ["jpg", "jpeg", "png", "webp", "bmp", "tif", "tiff"]
