"""Data: the competition layout, images, boxes, table validation, the split, the torch dataset,
augmentation (training recipes and the playground), uploads, user datasets, and the bundled
dataset's builder (`data.build`). Everything a run trains on comes from here."""

from ..utils.lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "augment": ("AugmentedSample", "BoxCheck", "augment_sample", "describe_applied"),
        "augment_export": ("export_augmented",),
        "boxes": ("clamp_pixel_boxes", "pixel_boxes"),
        "dataset": ("NO_FACE_LABEL", "LocalizationDataset", "channel_stats"),
        "folder": ("DatasetFolder", "load_dataset"),
        "image_cache": ("IMAGE_CACHE", "ImageCache", "resize_square"),
        "images": ("ImageError", "read_rgb", "upright_size"),
        "layout": ("KNOWN_CLASSES", "dataset_digest", "safe_image_path"),
        "prepared": ("PreparedData", "prepare_data"),
        "split": ("SplitCheck", "check_split", "split_table", "train_val_positions"),
        "table": ("DataError", "RowProblem", "Table", "read_table"),
        "transforms": ("CATALOGUE", "compose", "train_transform"),
        "uploads": ("UploadError", "unpack_dataset_zip"),
        "user_datasets": ("UserDataset", "UserDatasetError", "create_dataset", "list_datasets"),
        "zoom_out": ("write_zoomed_out",),
    },
)
