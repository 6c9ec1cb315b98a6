"""The shared training recipe: the manifold initialisation, its anchor term, the update budget."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from conftest import fast
from sklearn_latent import _manifold, _networks
from sklearn_latent import _recipe as recipe
from sklearn_latent._trainer import AUTO_MAX_EPOCHS, AUTO_UPDATES


@pytest.fixture(scope="module")
def five_blobs():
    X, y = make_blobs(n_samples=400, centers=5, n_features=6, cluster_std=0.7, random_state=3)
    return X.astype(np.float32), y


def test_fuzzy_graph_is_a_symmetric_union_of_memberships(five_blobs):
    X, _ = five_blobs
    graph = _manifold.fuzzy_neighbor_graph(X.astype(np.float64), 15).tocsr()
    assert abs(graph - graph.T).max() < 1e-12
    assert graph.data.min() > 0 and graph.data.max() <= 1 + 1e-12
    # Each row's nearest neighbour has membership 1 (distance minus rho is 0).
    assert np.allclose(graph.max(axis=1).toarray().ravel(), 1.0)


def test_manifold_clusters_recover_separated_blobs(five_blobs):
    X, y = five_blobs
    rows, clusters = _manifold.manifold_clusters(X, np.arange(len(X)), 5, seed=0)
    assert rows.size > 0.9 * len(X)  # nearly all rows are confident
    assert adjusted_rand_score(y[rows], clusters) > 0.95


def test_manifold_clusters_are_seeded_and_sample_large_inputs(five_blobs, monkeypatch):
    X, _ = five_blobs
    first = _manifold.manifold_clusters(X, np.arange(len(X)), 5, seed=4)
    second = _manifold.manifold_clusters(X, np.arange(len(X)), 5, seed=4)
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    monkeypatch.setattr(_manifold, "MAX_ROWS", 100)
    rows, _ = _manifold.manifold_clusters(X, np.arange(len(X)), 5, seed=0)
    assert rows.size <= 100 and np.all(np.diff(rows) > 0)
    # Sparse rows have their own, smaller cap: their exact graph grows with its square.
    monkeypatch.setattr(_manifold, "MAX_SPARSE_ROWS", 80)
    rows, _ = _manifold.manifold_clusters(sp.csr_matrix(X), np.arange(len(X)), 5, seed=0)
    assert rows.size <= 80


@pytest.mark.parametrize("make_input", [np.asarray, sp.csr_matrix], ids=["dense", "csr"])
def test_manifold_clusters_take_any_training_input(five_blobs, make_input):
    X, y = five_blobs
    rows, clusters = _manifold.manifold_clusters(make_input(X), np.arange(0, 400, 2), 5, seed=0)
    assert set(rows) <= set(range(0, 400, 2))
    assert adjusted_rand_score(y[rows], clusters) > 0.9


def test_a_layout_step_pulls_an_edges_ends_together_and_pushes_its_head_from_others():
    embedding = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 0.5]], dtype=np.float32)
    heads, tails, none = np.array([0]), np.array([1]), np.empty((1, 0), dtype=np.int64)
    pulled = embedding.copy()
    _manifold._sgd_epoch(pulled, heads, tails, none, 1.0, _manifold.CURVE_A, _manifold.CURVE_B)
    # Both ends move towards each other by the same amount, along the edge only.
    assert 0 < pulled[0, 0] < 1.5 and np.isclose(3.0 - pulled[1, 0], pulled[0, 0])
    assert np.array_equal(pulled[:, 1], embedding[:, 1]) and np.array_equal(pulled[2], embedding[2])
    pushed = embedding.copy()
    _manifold._sgd_epoch(
        pushed, heads, tails, np.array([[2]]), 1.0, _manifold.CURVE_A, _manifold.CURVE_B
    )
    # The head then moves away from row 2 (which stays), by at most the clip of 4.
    assert -4 <= pushed[0, 1] < 0 and np.array_equal(pushed[2], embedding[2])
    # Half the step, half the pull.
    halved = embedding.copy()
    _manifold._sgd_epoch(halved, heads, tails, none, 0.5, _manifold.CURVE_A, _manifold.CURVE_B)
    assert np.isclose(halved[0, 0], pulled[0, 0] / 2)


def test_the_layout_drops_edges_too_weak_to_be_sampled_once(monkeypatch):
    # Two tight pairs joined by an edge of 1/1000 of the strongest: 200 epochs never sample it.
    rows, cols = np.array([0, 1, 2, 3, 1, 2]), np.array([1, 0, 3, 2, 2, 1])
    weights = np.array([1.0, 1.0, 1.0, 1.0, 1e-3, 1e-3])
    graph = sp.coo_matrix((weights, (rows, cols)), shape=(4, 4))
    sampled, sgd_epoch = [], _manifold._sgd_epoch

    def recorded(embedding, heads, tails, others, step, a, b):
        sampled.extend(zip(heads.tolist(), tails.tolist(), strict=True))
        return sgd_epoch(embedding, heads, tails, others, step, a, b)

    monkeypatch.setattr(_manifold, "_sgd_epoch", recorded)
    _manifold.optimize_layout(graph, 2, 200, seed=0)
    assert set(sampled) == {(0, 1), (1, 0), (2, 3), (3, 2)}
    assert len(sampled) == 4 * 200  # an edge of the largest membership every epoch


@pytest.mark.parametrize(
    "X",
    [np.zeros((40, 3)), np.repeat(np.eye(3), 10, axis=0), np.arange(12.0).reshape(6, 2)],
    ids=["constant", "duplicates", "few rows"],
)
def test_manifold_clusters_on_degenerate_inputs_return_valid_anchors(X):
    rows, clusters = _manifold.manifold_clusters(X.astype(np.float32), np.arange(len(X)), 3, 0)
    # Without clear structure every row is anchored, so init_weight still trains.
    assert rows.shape == clusters.shape == (len(X),)
    assert np.all((clusters >= 0) & (clusters < 3))


def test_the_anchor_term_trains_the_posterior_towards_the_initial_clusters(
    estimator_class, five_blobs
):
    X, y = five_blobs
    anchored = fast(estimator_class, n_clusters=5, max_iter=3, random_state=0).fit(X)
    assert all("init_disagreement" in record for record in anchored.history_)
    assert adjusted_rand_score(y, anchored.labels_) > 0.9
    plain = fast(estimator_class, n_clusters=5, max_iter=3, cluster_init=None, random_state=0)
    plain.fit(X)
    assert "init_disagreement" not in plain.history_[-1]


def test_partial_labels_rename_the_start_and_warm_starts_skip_it(estimator_class, five_blobs):
    X, y = five_blobs
    classes = np.array([3, 0, 4, 1, 2])[y]  # not the start's numbering
    partial = np.where(np.arange(len(y)) % 10 == 0, classes, -1)
    model = fast(estimator_class, n_clusters=5, max_iter=3, label_weight=10, random_state=0)
    model.fit(X, partial)
    # The start anchors its confident rows, under the labelled rows' classes.
    assert "init_disagreement" in model.history_[-1]
    assert "label_cross_entropy" in model.history_[-1]
    unlabelled = partial < 0
    assert np.mean(model.labels_[unlabelled] == classes[unlabelled]) > 0.95
    model = fast(estimator_class, n_clusters=5, max_iter=1, random_state=0).fit(X)
    model.set_params(warm_start=True).fit(X)
    assert "init_disagreement" in model.history_[0]
    assert "init_disagreement" not in model.history_[1]


def test_the_start_is_renamed_to_the_classes_its_labelled_rows_hold():
    anchors = np.array([0, 0, 0, 1, 1, 1, 2, 2, -1, 2])
    labeled_rows = np.array([0, 1, 3, 6, 8, 9])
    # Cluster 0 holds class 2, cluster 1 class 0; cluster 2's rows say 1 and 1;
    # row 8 (not anchored) and row 1 (against its cluster) keep their own class.
    classes = np.array([2, 1, 0, 1, 1, 1])
    renamed = recipe.anchors_as_classes(anchors, labeled_rows, classes, 3)
    np.testing.assert_array_equal(renamed, [2, 1, 2, 0, 0, 0, 1, 1, 1, 1])
    # A cluster no labelled row falls in takes the class left over.
    renamed = recipe.anchors_as_classes(anchors, np.array([0, 3]), np.array([1, 2]), 3)
    np.testing.assert_array_equal(renamed, [1, 1, 1, 2, 2, 2, 0, 0, -1, 0])


@pytest.mark.parametrize("n_rows", [60, 400])
def test_max_iter_none_runs_a_budget_of_updates(n_rows, five_blobs):
    from sklearn_latent import ClusterGANClustering

    X, _ = five_blobs
    model = fast(ClusterGANClustering, n_clusters=5, max_iter=None, batch_size=40, random_state=0)
    model.fit(X[:n_rows])
    n_batches = -(-n_rows // 40)
    assert model.n_iter_ == min(round(AUTO_UPDATES / n_batches), AUTO_MAX_EPOCHS)


def test_default_hidden_layers_narrow_on_wide_rows(estimator_class, monkeypatch):
    """Wide rows get narrower default layers; given widths are kept whatever the input."""
    monkeypatch.setattr(_networks, "WIDE_ROW_FEATURES", 8)
    X = np.random.default_rng(0).random((40, 9)).astype(np.float32)
    model = estimator_class(
        n_clusters=2, max_iter=1, batch_size=20, cluster_init=None, random_state=0
    ).fit(X)
    first_layers = [
        layer
        for module in model._modules()
        for layer in module.modules()
        if isinstance(layer, torch.nn.Linear) and layer.in_features == 9
    ]
    assert first_layers and all(layer.out_features == 128 for layer in first_layers)
    assert _networks.hidden_widths(model._fitted_params, 8) == (256, 256)
    model.set_params(hidden_units=(7,), cluster_init=None).fit(X)
    assert _networks.hidden_widths(model._fitted_params, 9) == (7,)


def _blocks_graph(sizes, inside=1.0, between=0.02, seed=0):
    """A symmetric graph of dense blocks with sparse links between them."""
    random = np.random.default_rng(seed)
    blocks = np.repeat(np.arange(len(sizes)), sizes)
    weights = np.where(blocks[:, None] == blocks[None, :], inside, between)
    weights = weights * (random.random(weights.shape) < 0.5)
    weights = np.triu(weights, 1)
    return sp.csr_matrix(weights + weights.T), blocks


def test_components_split_from_graph_blocks_are_merged_back():
    graph, blocks = _blocks_graph([30, 30, 60])
    # Each block cut in two pieces (the big one in three): seven components.
    components = np.concatenate(
        [np.repeat([0, 1], 15), np.repeat([2, 3], 15), np.repeat([4, 5, 6], 20)]
    )
    # An eighth component no row falls in (a mixture component left empty) merges too.
    cluster_of = _manifold.merge_components(graph, components, 8, 3)
    assert cluster_of.shape == (8,)
    assert adjusted_rand_score(blocks, cluster_of[components]) == 1.0
    assert set(cluster_of) == {0, 1, 2}


def test_modularity_prefers_the_graph_blocks():
    graph, blocks = _blocks_graph([40, 40])
    shuffled = np.random.default_rng(1).permutation(blocks)
    assert _manifold.modularity(graph, blocks, 2) > 0.4
    assert _manifold.modularity(graph, blocks, 2) > _manifold.modularity(graph, shuffled, 2) + 0.3


def test_mixture_partition_follows_the_graph_where_the_layout_misleads():
    # The layout shows four islands; the graph says the two far ones are one class
    # (A) and the two near ones two classes (B, C).  A mixture of three Gaussians
    # merges the near islands; its oversplit, merged along the graph, does not.
    random = np.random.default_rng(0)
    centres = [(0, 0), (20, 0), (10, 10), (10, 12.5)]
    embedding = np.vstack([random.normal(centre, 0.5, size=(100, 2)) for centre in centres])
    graph, classes = _blocks_graph([200, 100, 100])
    single = _manifold.GaussianMixture(3, random_state=0).fit_predict(embedding)
    assert adjusted_rand_score(classes, single) < 0.7
    responsibility = _manifold.mixture_partition(embedding, graph, 3, seed=0)
    assert adjusted_rand_score(classes, responsibility.argmax(axis=1)) == 1.0
    np.testing.assert_allclose(responsibility.sum(axis=1), 1.0)


def test_mixture_partition_keeps_a_large_cluster_whole():
    # One Gaussian of 1,200 rows and three far, small clumps, in 10 dimensions as the
    # layout has.  Merged by modularity, the oversplit cuts the large cluster in pieces
    # and lumps the clumps together (modularity favours clusters of equal degree); the
    # start takes the partition whose clusters are all separate.
    random = np.random.default_rng(0)
    centres = random.normal(size=(3, 10))
    centres *= 12 / np.linalg.norm(centres, axis=1, keepdims=True)
    sizes = [1200, 60, 40, 30]
    clumps = [
        random.normal(centre, 0.3, size=(n, 10))
        for centre, n in zip(centres, sizes[1:], strict=True)
    ]
    embedding = np.vstack([random.normal(size=(sizes[0], 10)), *clumps])
    classes = np.repeat(np.arange(4), sizes)
    graph = _manifold.fuzzy_neighbor_graph(embedding, 15)
    components = _manifold.GaussianMixture(8, random_state=0).fit_predict(embedding)
    by_modularity = _manifold.merge_components(graph, components, 8, 4)[components]
    assert adjusted_rand_score(classes, by_modularity) < 0.5
    assert _manifold.max_link_ratio(graph, by_modularity, 4) > _manifold.SEPARATE_LINK_RATIO
    by_link_ratio = _manifold.merge_components(graph, components, 8, 4, "link_ratio")[components]
    assert adjusted_rand_score(classes, by_link_ratio) == 1.0
    responsibility = _manifold.mixture_partition(embedding, graph, 4, seed=0)
    assert adjusted_rand_score(classes, responsibility.argmax(axis=1)) == 1.0


def test_the_start_takes_a_partition_along_which_the_graph_falls_apart():
    # A large part made of two halves linked as two separate digits are, and two
    # small parts linked to nothing.  Cutting the large part and lumping the small
    # ones together gives clusters of more equal degree, so a higher modularity,
    # and its clusters pass the bar of separate ones; but the graph falls apart
    # along the other partition, which the start takes.
    random = np.random.default_rng(0)
    parts = np.repeat([0, 1, 2, 3], [150, 150, 20, 10])
    same = parts[:, None] == parts[None, :]
    halves = (parts[:, None] < 2) & (parts[None, :] < 2)
    weights = np.where(same, 1.0, np.where(halves, 0.06, 0.0)) * (random.random(same.shape) < 0.5)
    weights = np.triu(weights, 1)
    graph = sp.csr_matrix(weights + weights.T)
    whole = np.select([parts < 2, parts == 2], [0, 1], 2)
    cut = np.select([parts == 0, parts == 1], [0, 1], 2)
    assert _manifold.max_link_ratio(graph, whole, 3) <= _manifold.DISCONNECTED_LINK_RATIO
    assert 0.1 < _manifold.max_link_ratio(graph, cut, 3) <= _manifold.SEPARATE_LINK_RATIO
    assert _manifold.modularity(graph, cut, 3) > _manifold.modularity(graph, whole, 3)
    assert _manifold.best_partition(graph, [cut, whole], 3) == 1


def test_the_balance_term_aims_at_the_given_shares():
    from sklearn_latent._losses import marginal_divergence

    proba = torch.tensor([[0.9, 0.1], [0.7, 0.3]])
    uniform = marginal_divergence(proba)
    usage = torch.tensor([0.8, 0.2])
    expected = (usage * torch.log(usage / 0.5)).sum()
    torch.testing.assert_close(uniform, expected)
    torch.testing.assert_close(marginal_divergence(proba, usage), torch.tensor(0.0))
    assert marginal_divergence(proba, torch.tensor([0.2, 0.8])) > uniform


@pytest.fixture(scope="module")
def unequal_blobs():
    # One class of 80 % of the rows beside two small ones, far apart, in enough
    # dimensions that two halves of the large one share many edges of the graph.
    return make_blobs([320, 40, 40], n_features=10, cluster_std=0.5, random_state=3)


def test_training_keeps_the_start_s_unequal_clusters(estimator_class, unequal_blobs):
    X, y = unequal_blobs
    # Long enough for a uniform target to split the large class (the GANs' labels
    # fell to ARI 0.38-0.89 with one): the start's shares are the target instead.
    model = fast(estimator_class, n_clusters=3, max_iter=60, random_state=0).fit(X)
    np.testing.assert_allclose(np.sort(model._cluster_shares_), np.array([41, 41, 321]) / 403)
    assert adjusted_rand_score(y, model.labels_) == 1.0
