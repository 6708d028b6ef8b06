"""Datasets through torchvision's real classes, from plain archive folders, and augmentations."""

import threading

import pytest
import torch

from imggen.data import DataNotFoundError, load_images, spec_for
from imggen.data.augment import DiffAugment, cutout, seed_transforms, translation
from imggen.data.datasets import data_root, preparation_lock, torchvision_root


def test_mnist_train_and_test_splits_load_as_uint8(data_dir):
    train, test = load_images("mnist", "train", data_dir), load_images("mnist", "test", data_dir)
    assert train.images.shape == (60000, 1, 28, 28) and train.images.dtype == torch.uint8
    assert test.images.shape == (10000, 1, 28, 28)
    assert sorted(train.labels.unique().tolist()) == list(range(10))
    assert set(train.archives_sha256) == {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"}


def test_fashion_alias_and_class_names(data_dir):
    test = load_images("fashion", "test", data_dir)
    assert test.name == "fashion-mnist" and test.classes[9] == "Ankle boot"


def test_a_process_waits_while_another_prepares_the_same_dataset(tmp_path, monkeypatch, data_dir):
    """torchvision extracts archives in place, so a second loader must wait for the first one's lock instead of
    reading a half-written file (what broke runs started side by side on a fresh machine)."""
    monkeypatch.setenv("IMGGEN_CACHE", str(tmp_path))
    spec = spec_for("mnist")
    tv_root = torchvision_root(data_root(), spec)
    extracted = tv_root / "MNIST" / "raw" / "t10k-images-idx3-ubyte"
    loaded = threading.Event()
    loader = threading.Thread(target=lambda: (load_images("mnist", "test"), loaded.set()))
    with preparation_lock(tv_root, spec):
        loader.start()
        loaded.wait(timeout=3)  # unlocked, the loader extracts and loads well within this
        assert not loaded.is_set() and not extracted.exists()
    loader.join(timeout=120)
    assert loaded.is_set() and extracted.is_file()


def test_missing_data_says_where_it_looked_and_how_to_fix(tmp_path):
    with pytest.raises(DataNotFoundError) as err:
        load_images("mnist", "train", tmp_path / "empty", download=False)
    assert str(tmp_path / "empty" / "mnist") in str(err.value) and "IMGGEN_DATA_DIR" in str(err.value)


@pytest.mark.parametrize("bad", ["cifar", "mnist:test"])
def test_unknown_dataset_lists_the_known_ones(bad):
    with pytest.raises(ValueError, match="fashion-mnist"):
        spec_for(bad)


def test_unknown_split(data_dir):
    with pytest.raises(ValueError, match="split"):
        load_images("mnist", "validation", data_dir)


def test_seed_transforms_keep_shape():
    x = torch.rand(1, 28, 28)
    assert seed_transforms(flip=True, rotation=15, color_jitter=0.2)(x).shape == x.shape


def test_diffaugment_is_differentiable_and_seeded():
    x = torch.rand(6, 1, 28, 28, requires_grad=True)
    a = DiffAugment()(x, torch.Generator().manual_seed(1))
    b = DiffAugment()(x, torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    a.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_translation_moves_whole_pixels_and_fills_zeros():
    x = torch.ones(16, 1, 8, 8)
    y = translation(x, ratio=0.25, generator=torch.Generator().manual_seed(0))
    assert set(y.unique().tolist()) <= {0.0, 1.0}
    assert (y == 0).any()  # some sample was shifted


def test_cutout_zeros_a_square_of_the_requested_size():
    y = cutout(torch.ones(4, 1, 8, 8), ratio=0.5, generator=torch.Generator().manual_seed(0))
    zeros = (y == 0).flatten(1).sum(1)
    assert (zeros <= 16).all() and (zeros > 0).all()


def test_unknown_policy_is_rejected():
    with pytest.raises(ValueError, match="translation"):
        DiffAugment(["colour"])


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_a_damaged_extraction_is_extracted_again_from_the_verified_archive(tmp_path, monkeypatch, data_dir, damage):
    monkeypatch.setenv("IMGGEN_CACHE", str(tmp_path / "cache"))  # a cache of this test's own
    clean = load_images("mnist", "test")
    extracted = next((tmp_path / "cache").rglob("t10k-images-idx3-ubyte"))
    data = bytearray(extracted.read_bytes())
    if damage == "flip":
        data[5000:5100] = bytes(255 - b for b in data[5000:5100])
    else:
        data = data[: len(data) // 2]
    extracted.write_bytes(bytes(data))
    again = load_images("mnist", "test")
    assert torch.equal(again.images, clean.images) and torch.equal(again.labels, clean.labels)


# -- k-means pseudo-labels ----------------------------------------------------------------------------------------
def test_kmeans_finds_separated_clusters_and_is_seeded():
    from imggen.data.clusters import kmeans, nearest_centre

    g = torch.Generator().manual_seed(0)
    true = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    which = torch.arange(300) % 3
    points = true[which] + 0.1 * torch.randn(300, 2, generator=g)
    centres = kmeans(points, 3, seed=1)
    assert torch.equal(centres, kmeans(points, 3, seed=1))
    assert torch.cdist(true, centres).min(dim=1).values.max() < 0.1  # every true centre found
    assigned = nearest_centre(points, centres)
    assert all(len(assigned[which == c].unique()) == 1 for c in range(3))  # each cluster kept whole


def test_clusters_within_groups_keep_each_point_in_its_own_groups_modes():
    from imggen.data.clusters import kmeans_within, nearest_centre

    g = torch.Generator().manual_seed(0)
    blobs = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    which = torch.arange(400) % 4
    points = blobs[which] + 0.1 * torch.randn(400, 2, generator=g)
    groups = which // 2  # group 0 holds blobs 0 and 1, group 1 blobs 2 and 3
    centres = kmeans_within(points, groups, 2, 2, seed=0)
    assert centres.shape == (2, 2, 2)
    modes = nearest_centre(points, centres, groups)
    assert torch.equal(modes // 2, groups)  # a point's mode is one of its own group's
    assert all(len(modes[which == b].unique()) == 1 for b in range(4)) and len(modes.unique()) == 4
    # a point labelled with the other group gets that group's nearest mode, however far
    assert nearest_centre(torch.tensor([[0.0, 0.0]]), centres, torch.tensor([1])).item() // 2 == 1


def test_kmeans_keeps_every_cluster_in_use_and_names_bad_arguments():
    from imggen.data.clusters import kmeans, nearest_centre

    points = torch.cat([torch.zeros(50, 4), torch.ones(3, 4)])  # fewer distinct points than asked-for clusters
    centres = kmeans(points, 4, seed=0)
    assert torch.isfinite(centres).all() and centres.shape == (4, 4)
    assert len(nearest_centre(torch.rand(6, 2, 2), centres)) == 6  # images flatten to the centres' dimension
    with pytest.raises(ValueError, match="cannot make 5 clusters"):
        kmeans(torch.rand(4, 2), 5)
    with pytest.raises(ValueError, match="number of clusters"):
        kmeans(torch.rand(4, 2), 0)
