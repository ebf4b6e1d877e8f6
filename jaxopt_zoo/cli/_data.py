"""The shootout's datasets: two that ship with scikit-learn and a synthetic regression, split once (seed 0)."""

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
    "regression": "synthetic linear regression: 1000 samples, 20 features (10 informative), noise 10",
}


def _standardize(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, std = train.mean(0), train.std(0)
    std = np.where(std > 0, std, 1.0)
    return (train - mean) / std, (test - mean) / std


def _sklearn_file(name: str) -> str | None:
    """The path of a data file shipped in scikit-learn, found without importing it (slow: scipy)."""
    import importlib.util
    import os

    spec = importlib.util.find_spec("sklearn")
    for root in (spec.submodule_search_locations or []) if spec else []:
        path = os.path.join(root, "datasets", "data", name)
        if os.path.isfile(path):
            return path
    return None


def _raw(name: str) -> tuple[np.ndarray, np.ndarray]:
    if name == "digits":
        path = _sklearn_file("digits.csv.gz")
        if path is None:  # pragma: no cover - a scikit-learn that moved its files
            from sklearn.datasets import load_digits

            return load_digits(return_X_y=True)
        data = np.loadtxt(path, delimiter=",")
        return data[:, :-1], data[:, -1].astype(np.int64)
    if name == "breast_cancer":
        path = _sklearn_file("breast_cancer.csv")
        if path is None:  # pragma: no cover
            from sklearn.datasets import load_breast_cancer

            return load_breast_cancer(return_X_y=True)
        data = np.loadtxt(path, delimiter=",", skiprows=1)
        return data[:, :-1], data[:, -1].astype(np.int64)
    # y = X w + noise with 10 informative features (like sklearn's make_regression), numpy seed 0.
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1000, 20))
    w = np.zeros(20)
    w[:10] = 100 * rng.uniform(size=10)
    return x, x @ w + 10.0 * rng.standard_normal(1000)


def load(name: str) -> Dataset:
    """Load dataset ``name`` (one of ``DATASETS``), split 75/25 with a fixed seed.

    Digits and breast cancer are read from the files scikit-learn ships. Features are divided
    by 16 (digits) or standardized with train-set statistics; regression targets are
    standardized too, so that the loss (mean squared error) starts near 1.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    x, y = _raw(name)
    task = "regression" if name == "regression" else "classification"
    order = np.random.default_rng(0).permutation(len(x))
    cut = len(x) - len(x) // 4
    x_tr, x_te, y_tr, y_te = x[order[:cut]], x[order[cut:]], y[order[:cut]], y[order[cut:]]
    if name == "digits":
        x_tr, x_te = x_tr / 16.0, x_te / 16.0
    else:
        x_tr, x_te = _standardize(x_tr, x_te)
    if task == "regression":
        y_tr, y_te = _standardize(y_tr[:, None], y_te[:, None])
        y_tr, y_te = y_tr[:, 0].astype(np.float32), y_te[:, 0].astype(np.float32)
        outputs = 1
    else:
        y_tr, y_te = y_tr.astype(np.int32), y_te.astype(np.int32)
        outputs = int(y.max()) + 1
    return Dataset(name, x_tr.astype(np.float32), y_tr, x_te.astype(np.float32), y_te, outputs, task, DATASETS[name])
