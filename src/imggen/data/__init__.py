"""Datasets as in-memory tensors, batch iteration on the training device, and augmentations."""

from imggen.data.datasets import DATA_ENV, DATASETS, DataNotFoundError, ImageSet, data_root, load_images, spec_for

__all__ = ["DATASETS", "DATA_ENV", "DataNotFoundError", "ImageSet", "data_root", "load_images", "spec_for"]
