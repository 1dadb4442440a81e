"""Bundled sample data and the registry that finds data sets by name or path.

The bundled sets are synthetic: made by :mod:`lockstep.adapters.data.generate`
from a fixed seed, so the demo and the tests need no network and anyone can
regenerate the files byte for byte.
"""

from lockstep.adapters.data.datasets import (
    BUNDLED_ROOT,
    Dataset,
    check_starting_cash,
    data_digest,
    dataset_path,
    digest_of_fingerprints,
    list_datasets,
    load_dataset,
    setup_for,
)

__all__ = [
    "BUNDLED_ROOT",
    "Dataset",
    "check_starting_cash",
    "data_digest",
    "dataset_path",
    "digest_of_fingerprints",
    "list_datasets",
    "load_dataset",
    "setup_for",
]
