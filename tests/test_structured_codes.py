"""Structured InfoGAN codes: the code graph, its likelihood term, the shapes set and MIG."""

import math
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from conftest import fail_on_gpu_sync, fast
from sklearn_latent import InfoGANClustering
from sklearn_latent._code_graph import linear_gaussian_network_nll
from sklearn_latent._runtime import TrainingRandomness
from sklearn_latent.datasets import SHAPES_FACTOR_NAMES, make_shapes
from sklearn_latent.metrics import factor_code_mutual_information, mutual_information_gap

ONE_TO_ONE = [("c0", "c0_hat"), ("c1", "c1_hat")]


def structured(**params):
    defaults = {"n_clusters": 3, "n_continuous": 2, "random_state": 0}
    return fast(InfoGANClustering, **{**defaults, **params})


# ------------------------------------------------------------------- graph
@pytest.mark.parametrize(
    ("code_graph", "message"),
    [
        ([("c0", "c3_hat")], r"unknown codes \['c3_hat'\].*'c0_hat', 'c1_hat'\]"),
        ([("c0_hat", "c1")], "cannot have parents"),
        ([("c0_hat", "c1_hat"), ("c1_hat", "c0_hat")], "cycle, c(0|1)_hat -> c(1|0)_hat -> "),
        ([("c1_hat", "c1_hat")], "cycle, c1_hat -> c1_hat"),
        (np.ones((3, 3)), r"must be 5 x 5.*\['category', 'c0', 'c1', 'c0_hat', 'c1_hat'\]"),
        ([("c0", "c0_hat", "c1_hat")], "list of \\(parent, child\\) name pairs"),
        ("all", "code_graph"),
    ],
)
def test_bad_graphs_are_refused_with_the_fix(blobs, code_graph, message):
    X, _ = blobs
    with pytest.raises(ValueError, match=message):
        structured(code_graph=code_graph, max_iter=1).fit(X)


def test_graph_without_continuous_codes_is_refused(blobs):
    X, _ = blobs
    with pytest.raises(ValueError, match="n_continuous=0"):
        structured(code_graph="one-to-one", n_continuous=0, max_iter=1).fit(X)


def test_graph_forms_agree_and_are_stored_as_parents(blobs):
    X, _ = blobs
    adjacency = np.zeros((5, 5), dtype=bool)  # category, c0, c1, c0_hat, c1_hat
    adjacency[1, 3] = adjacency[2, 4] = adjacency[1, 4] = adjacency[0, 4] = True
    edges = [*ONE_TO_ONE, ("c0", "c1_hat"), ("category", "c1_hat"), ("c0", "c1_hat")]
    fitted = [structured(code_graph=graph, max_iter=1).fit(X) for graph in (adjacency, edges)]
    assert fitted[0].code_graph_ == {"c0_hat": ("c0",), "c1_hat": ("category", "c0", "c1")}
    assert {k: set(v) for k, v in fitted[1].code_graph_.items()} == {
        k: set(v) for k, v in fitted[0].code_graph_.items()
    }
    one_to_one = structured(code_graph="one-to-one", max_iter=1).fit(X)
    assert one_to_one.code_graph_ == {"c0_hat": ("c0",), "c1_hat": ("c1",)}
    # A parent listed after its child in the edges still comes first in the order.
    chained = structured(code_graph=[("c1_hat", "c0_hat"), ("c1", "c1_hat")], max_iter=1).fit(X)
    assert list(chained.code_graph_) == ["c1_hat", "c0_hat"]


@pytest.mark.parametrize(
    ("code_graph", "code_graph_weight", "entangled"),
    [
        (None, 1.0, []),
        ("one-to-one", 1.0, []),
        ([*ONE_TO_ONE, ("c0", "c1_hat")], 1.0, ["c1_hat"]),
        ([("category", "c0_hat"), ("c0_hat", "c1_hat")], 1.0, ["c0_hat", "c1_hat"]),
        ([*ONE_TO_ONE, ("c0", "c1_hat")], 0.0, []),
    ],
)
def test_entangled_codes_have_a_parent_besides_their_input(
    blobs, code_graph, code_graph_weight, entangled
):
    X, _ = blobs
    model = structured(code_graph=code_graph, code_graph_weight=code_graph_weight, max_iter=1)
    assert model.fit(X).entangled_codes_ == entangled


def test_no_graph_is_plain_infogan(blobs):
    X, _ = blobs
    plain = structured(max_iter=2).fit(X)
    empty = structured(code_graph=[], max_iter=2).fit(X)
    assert plain.code_graph_ == empty.code_graph_ == {}
    assert "code_graph_nll" not in plain.history_[-1]
    np.testing.assert_array_equal(plain.transform(X), empty.transform(X))


def test_structured_model_clones_pickles_and_searches(blobs):
    X, _ = blobs
    model = structured(code_graph=[*ONE_TO_ONE, ("c0", "c1_hat")], max_iter=2).fit(X)
    assert clone(model).get_params()["code_graph"] == model.code_graph
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.transform(X), model.transform(X))
    search = GridSearchCV(
        structured(max_iter=2), {"code_graph": [None, "one-to-one", ONE_TO_ONE]}, cv=2
    ).fit(X)
    assert len(search.cv_results_["params"]) == 3


# ------------------------------------------------------- likelihood term
def test_network_nll_is_minus_gaussian_information_and_scale_free():
    generator = torch.Generator().manual_seed(0)
    parent = torch.randn(4096, 1, generator=generator)
    noise = torch.randn(4096, 1, generator=generator)
    root = 0.5 * math.log(2 * math.pi * math.e)  # a standardised variable with R^2 = 0
    for correlation in (0.0, 0.6, 0.9):
        child = correlation * parent + math.sqrt(1 - correlation**2) * noise
        nll = linear_gaussian_network_nll({"p": parent, "x": child}, {"x": ("p",)})
        # Gaussian information: I = -log(1 - rho^2) / 2, so nll = root - I.
        information = -0.5 * math.log(1 - correlation**2)
        assert float(nll) == pytest.approx(root - information, abs=0.02)
        scaled = linear_gaussian_network_nll({"p": parent, "x": 0.1 * child}, {"x": ("p",)})
        assert float(scaled) == pytest.approx(float(nll), abs=1e-3)
    # A perfect fit is floored, not minus infinity.
    exact = linear_gaussian_network_nll({"p": parent, "x": 3 * parent}, {"x": ("p",)})
    assert float(exact) == pytest.approx(0.5 * math.log(2 * math.pi * 1e-2), abs=0.01)


def test_network_nll_reads_a_categorical_parent():
    generator = torch.Generator().manual_seed(0)
    category = torch.randint(3, (2048,), generator=generator)
    child = torch.tensor([-1.0, 0.0, 2.0])[category][:, None]
    child = child + 0.1 * torch.randn(2048, 1, generator=generator)
    nodes = {"k": torch.nn.functional.one_hot(category, 3).float(), "x": child}
    with_parent = linear_gaussian_network_nll(nodes, {"x": ("k",)})
    without = linear_gaussian_network_nll(nodes, {"x": ()})
    assert float(with_parent) < float(without) - 1.0


def _graph_nll(model, code_graph, n_rows=1024):
    """The code graph's likelihood term of a fitted model, on fresh generated rows."""
    random = TrainingRandomness(1, model.device_)
    with torch.no_grad():
        model.generator_.eval()
        categories = random.randint(model.n_clusters, (n_rows,), model.device_)
        codes, continuous = model._draw_latent(categories, random)
        outputs = model.discriminator_(model.generator_(codes))
        nodes = model._code_nodes(categories, continuous, outputs)
        return float(linear_gaussian_network_nll(nodes, code_graph))


def test_graph_term_lowers_what_it_penalises(blobs):
    X, _ = blobs
    parents = {"c0_hat": ("c0",), "c1_hat": ("c1",)}
    plain = structured().fit(X)
    one_to_one = structured(code_graph="one-to-one", code_graph_weight=10.0).fit(X)
    assert "code_graph_nll" in one_to_one.history_[-1]
    assert _graph_nll(one_to_one, parents) < _graph_nll(plain, parents) - 0.1


def _generated_code_correlations(model, n_rows=1000):
    """corr(ci_hat, cj) on generated rows, and R^2 of c1 read linearly from all extracted codes."""
    rng = np.random.default_rng(0)
    continuous = rng.uniform(-1, 1, (n_rows, model.n_continuous))
    generated = model.generate(rng.integers(model.n_clusters, size=n_rows), continuous)
    extracted = model.transform(generated)[:, model.n_clusters :]
    correlation = np.corrcoef(extracted.T, continuous.T)[: model.n_continuous, model.n_continuous :]
    design = np.column_stack([np.ones(n_rows), extracted])
    residual = continuous[:, 1] - design @ np.linalg.lstsq(design, continuous[:, 1], rcond=None)[0]
    return correlation, 1 - residual.var() / continuous[:, 1].var()


def test_an_edge_frees_the_extracted_code_to_mix_its_parents(blobs):
    X, _ = blobs
    plain, _ = _generated_code_correlations(structured().fit(X))
    one_to_one, _ = _generated_code_correlations(structured(code_graph="one-to-one").fit(X))
    entangled = structured(code_graph=[*ONE_TO_ONE, ("c0", "c1_hat")]).fit(X)
    mixed, c1_read_back = _generated_code_correlations(entangled)
    # One-to-one codes stay L_I's estimates of their input codes, sign included.
    assert one_to_one[0, 0] > 0.9 and one_to_one[1, 1] > 0.9
    # Plain InfoGAN pins c1_hat to E[c1 | x], which ignores c0; the edge lets it mix c0 in ...
    assert abs(plain[1, 0]) < 0.3 and abs(mixed[1, 0]) > 0.5
    # ... while G keeps c1 readable from the extracted codes.
    assert c1_read_back > 0.5


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.mark.parametrize("code_graph", ["one-to-one", [*ONE_TO_ONE, ("c0", "c1_hat")]])
@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=needs_cuda)])
def test_graph_term_runs_under_bfloat16_autocast(blobs, device, code_graph):
    X, _ = blobs
    model = structured(code_graph=code_graph, precision="bfloat16", max_iter=2, device=device)
    assert np.isfinite(model.fit(X).history_[-1]["code_graph_nll"])


@needs_cuda
def test_graph_term_never_waits_for_the_gpu(blobs):
    X, _ = blobs
    model = structured(code_graph=[*ONE_TO_ONE, ("category", "c1_hat")], max_iter=2, device="cuda")
    assert "code_graph_nll" in fail_on_gpu_sync(model).fit(X).history_[-1]


# ------------------------------------------------------------ shapes set
def test_shapes_have_the_documented_factors():
    X, factors = make_shapes(300, image_size=20, random_state=0)
    assert X.shape == (300, 400) and X.dtype == np.float32
    assert X.min() >= 0 and X.max() <= 1
    assert factors.shape == (300, len(SHAPES_FACTOR_NAMES))
    shape, width, aspect, thickness, height = factors.T
    assert set(np.unique(shape)) == {0, 1, 2}
    np.testing.assert_allclose(height, width * aspect)
    # The drawn outline spans the width and height plus the stroke, to within a pixel.
    images = X.reshape(-1, 20, 20) > 0.5
    drawn_width = images.any(axis=1).sum(axis=1)
    drawn_height = images.any(axis=2).sum(axis=1)
    assert np.abs(drawn_width - (2 * width + thickness)).mean() < 1.0
    assert np.abs(drawn_height - (2 * height + thickness)).mean() < 1.0
    again, _ = make_shapes(300, image_size=20, random_state=0)
    np.testing.assert_array_equal(X, again)
    with pytest.raises(ValueError, match="at least 8"):
        make_shapes(10, image_size=4)


# ------------------------------------------------------------------- MIG
def test_mutual_information_gap_rewards_one_code_per_factor():
    rng = np.random.default_rng(0)
    factors = np.column_stack([rng.integers(3, size=2000), rng.uniform(size=2000)])
    disentangled = np.column_stack([factors[:, 0], 5 * factors[:, 1] + 1])
    # Up to the plug-in estimator's small bias for independent columns.
    gap = mutual_information_gap(factors, disentangled)
    assert gap == pytest.approx(1.0, abs=0.01)
    # Reordering the codes changes nothing; duplicating one closes its gap.
    assert mutual_information_gap(factors, disentangled[:, ::-1]) == pytest.approx(gap)
    duplicated = np.column_stack([disentangled, disentangled[:, 1]])
    np.testing.assert_allclose(
        mutual_information_gap(factors, duplicated, average=False), [1.0, 0.0], atol=0.01
    )
    noise = rng.uniform(size=(2000, 2))
    assert mutual_information_gap(factors, noise) < 0.05
    information = factor_code_mutual_information(factors, disentangled)
    np.testing.assert_allclose(np.diag(information), 1.0, atol=1e-9)


def test_mutual_information_gap_errors_name_the_problem():
    factors = np.column_stack([np.zeros(10), np.arange(10)])
    with pytest.raises(ValueError, match="Factor 0 is constant"):
        mutual_information_gap(factors, np.random.default_rng(0).uniform(size=(10, 2)))
    with pytest.raises(ValueError, match="at least 2"):
        mutual_information_gap(factors[:, 1:], np.arange(10)[:, None])
