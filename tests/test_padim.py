"""The PaDiM baseline's Woodbury-form Mahalanobis distance equals the dense-inverse definition."""

from __future__ import annotations

import numpy as np
import torch

from inspectd.evaluation.padim import REGULARISATION, Padim


def test_padim_matches_dense_inverse() -> None:
    rng = np.random.default_rng(0)
    for count in (1, 2, 5):
        goldens = rng.standard_normal((count, 3, 4, 24)).astype(np.float32)
        tests = rng.standard_normal((2, 3, 4, 24)).astype(np.float32)
        features = torch.from_numpy(goldens).double()
        mean = features.mean(0)
        centred = features - mean
        covariance = torch.einsum("nhwi,nhwj->hwij", centred, centred) / max(count - 1, 1)
        covariance += REGULARISATION * torch.eye(24, dtype=torch.float64)
        query = torch.from_numpy(tests).double() - mean
        dense = torch.einsum("bhwi,hwij,bhwj->bhw", query, torch.linalg.inv(covariance), query).sqrt().numpy()
        np.testing.assert_allclose(Padim(goldens).patch_scores(tests), dense, rtol=1e-5)
