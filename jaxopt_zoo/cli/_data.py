"""The shootout's datasets: small ones that ship with scikit-learn, split once (seed 0)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Dataset(NamedTuple):
    """Train/test arrays (float32 features; int32 labels or float32 targets)."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_outputs: int  # classes, or 1 for regression
    task: str  # "classification" or "regression"
    description: str

    @property
    def metric(self) -> str:
        """The test metric's name: ``accuracy`` (classification) or ``R2`` (regression)."""
        return "accuracy" if self.task == "classification" else "R2"


DATASETS = {
    "digits": "scikit-learn's 8x8 handwritten digits: 1797 images, 64 features, 10 classes",
    "breast_cancer": "scikit-learn's Wisconsin breast cancer: 569 samples, 30 features, 2 classes",
    "regression": "sklearn.datasets.make_regression: 1000 samples, 20 features (10 informative), noise 10",
}


def _standardize(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, std = train.mean(0), train.std(0)
    std = np.where(std > 0, std, 1.0)
    return (train - mean) / std, (test - mean) / std


def load(name: str) -> Dataset:
    """Load dataset ``name`` (one of ``DATASETS``), split 75/25 with a fixed seed.

    Features are scaled with train-set statistics (digits: divided by 16); regression targets
    are standardized too, so that the loss (mean squared error) starts near 1.
    """
    from sklearn import datasets
    from sklearn.model_selection import train_test_split

    task = "classification"
    if name == "digits":
        x, y = datasets.load_digits(return_X_y=True)
        x = x / 16.0
    elif name == "breast_cancer":
        x, y = datasets.load_breast_cancer(return_X_y=True)
    elif name == "regression":
        x, y = datasets.make_regression(n_samples=1000, n_features=20, n_informative=10, noise=10.0, random_state=0)
        task = "regression"
    else:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, random_state=0,
                                              stratify=y if task == "classification" else None)
    if name != "digits":
        x_tr, x_te = _standardize(x_tr, x_te)
    if task == "regression":
        y_tr, y_te = _standardize(y_tr[:, None], y_te[:, None])
        y_tr, y_te = y_tr[:, 0].astype(np.float32), y_te[:, 0].astype(np.float32)
        outputs = 1
    else:
        y_tr, y_te = y_tr.astype(np.int32), y_te.astype(np.int32)
        outputs = int(y.max()) + 1
    return Dataset(name, x_tr.astype(np.float32), y_tr, x_te.astype(np.float32), y_te, outputs, task, DATASETS[name])
