"""Datasets as in-memory tensors, and augmentations."""

from imggen.data.datasets import (
    BINARIZATION_SEED,
    DATA_ENV,
    DATASETS,
    DataNotFoundError,
    ImageSet,
    binarized_test_split,
    data_root,
    load_images,
    spec_for,
)

__all__ = ["BINARIZATION_SEED", "DATASETS", "DATA_ENV", "DataNotFoundError", "ImageSet", "binarized_test_split",
           "data_root", "load_images", "spec_for"]
