"""Scale and overhead of the shared base: memory, rows per second, loop cost.

Each section runs in its own process so its peak memory is its own:

``inference``
    ``predict``, ``predict_proba``, ``transform`` and ``score`` of every
    estimator on 1,000,000 x 784 float32 rows (a model fitted on 2,000 of them).
``sparse``
    ``fit`` (one epoch) and ``predict`` on a 200,000 x 2,000 CSR matrix at 1 % density.
``memmap``
    ``fit`` (one epoch) on a 200,000 x 2,000 float32 memmap on disk.

The two ``fit`` sections train ClusterGAN only, with ``hidden_units=(128, 128)``
so that an epoch of 200,000 rows takes minutes, not most of an hour, on 2
cores.  What they measure is the shared base's data path (validation, the
neighbour search, batches), the same for every estimator; the networks' own
memory is a few MiB either way.
``overhead``
    the shared training loop against a bare PyTorch loop running the same
    train step on the same batches, on digits, for every estimator.
``documents``
    a default ``fit`` of every estimator (``metric="auto"``: cosine, and the
    VAEs' multinomial decoder) on a 100,000 x 50,000 TF-IDF matrix of
    synthetic documents in 20 topics: seconds before and in training, peak
    memory above the input, and ACC against the topics.
``wide``
    a default ``fit`` of every estimator on 20,000 images' worth of wide rows
    (20 blobs in a 20-dimensional subspace of 3,072 features, plus noise,
    scaled to [0, 1]): the seconds before training (neighbour search, the
    manifold initialisation, any pretraining) and in it.
``million``
    a default ``fit`` of every estimator on 1,000,000 x 50 float32 rows of
    20 touching clusters (``neighbors.py``'s ``manifold`` rows), a memmap on
    disk: the seconds of each stage (neighbours, layout and mixture, the
    model's initialisation, training, labels), peak memory above the input,
    and ACC beside that of a fit on the first 100,000 rows predicting all.
``million_sparse``
    a default ClusterGAN ``fit`` on a 1,000,000 x 5,000 CSR matrix: TF-IDF of
    synthetic documents in 20 topics (about 40 tokens each), with the same
    columns as ``million`` (each topic has 200 terms of its own).
``dask``
    ``predict`` of every estimator (fitted on 10,000 rows) on 1,000,000 x 50
    rows in this process and on a two-worker ``LocalCluster`` (a dask array
    of 20 chunks): seconds, rows per second, and whether the labels agree.

"Peak above input" is the growth of the process's peak resident memory
(``VmHWM``, reset through ``/proc/self/clear_refs``) over its resident memory
just before the call, when the input is already in memory (a memmap's pages
are read once beforehand so they count as input).  A small warm-up fit runs
first, so that torch's one-time costs (code paged in, thread pools) do not
count as the input's.  Linux only.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/scale.py            # all sections
    OMP_NUM_THREADS=1 python benchmarks/scale.py overhead   # one section

(the published figures ran on one torch thread: on a busy 2-core machine two
threads spin-wait on each other and the timings stop meaning anything).
"""

import argparse
import re
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.datasets import load_digits

from sklearn_latent import (
    ClusterGANClustering,
    DECClustering,
    GMVAEClustering,
    InfoGANClustering,
    VaDEClustering,
    _base,
    _trainer,
)
from sklearn_latent._progress import FitProgress

ESTIMATORS = (
    ClusterGANClustering,
    GMVAEClustering,
    InfoGANClustering,
    VaDEClustering,
    DECClustering,
)
SECTIONS = (
    "inference",
    "sparse",
    "memmap",
    "overhead",
    "documents",
    "wide",
    "million",
    "million_sparse",
    "dask",
)
FIT_PARAMS = {"n_clusters": 10, "hidden_units": (128, 128), "max_iter": 1, "random_state": 0}


def _status_kib(field):
    return int(re.search(rf"{field}:\s+(\d+)", Path("/proc/self/status").read_text()).group(1))


def measure(function, *args):
    """Run ``function(*args)``; return (result, seconds, peak MiB above the memory before)."""
    Path("/proc/self/clear_refs").write_text("5")  # peak RSS := current RSS
    before = _status_kib("VmRSS")
    start = time.perf_counter()
    result = function(*args)
    seconds = time.perf_counter() - start
    return result, seconds, (_status_kib("VmHWM") - before) / 1024


def inference():
    rng = np.random.default_rng(0)
    X = rng.random((1_000_000, 784), dtype=np.float32)
    print(f"input: {X.shape[0]:,} x {X.shape[1]} float32, {X.nbytes / 2**20:,.0f} MiB")
    print("| estimator | method | seconds | rows/s | peak above input (MiB) |")
    print("|---|---|---|---|---|")
    for estimator in ESTIMATORS:
        model = estimator(n_clusters=10, max_iter=1, random_state=0).fit(X[:2000])
        for method in ("predict", "predict_proba", "transform", "score"):
            _, seconds, peak = measure(getattr(model, method), X)
            print(
                f"| {estimator.__name__} | {method} | {seconds:.1f} | "
                f"{X.shape[0] / seconds:,.0f} | {peak:.0f} |"
            )


def _measured_fit(X):
    """Fit ClusterGAN (FIT_PARAMS) on ``X`` after a warm-up, print its row, return it."""
    model = ClusterGANClustering(**FIT_PARAMS)
    model.fit(X[:2000])  # warm-up
    _, seconds, peak = measure(model.fit, X)
    print(f"| ClusterGANClustering | fit, 1 epoch | {seconds:.0f} | {peak:.0f} |")
    return model


def _sparse_input():
    return sp.random(200_000, 2_000, density=0.01, format="csr", dtype=np.float32, random_state=0)


def sparse():
    X = _sparse_input()
    input_mib = (X.data.nbytes + X.indices.nbytes + X.indptr.nbytes) / 2**20
    print(
        f"input: {X.shape[0]:,} x {X.shape[1]:,} CSR, {X.nnz:,} stored values, {input_mib:.0f} MiB"
    )
    print("| estimator | call | seconds | peak above input (MiB) |")
    print("|---|---|---|---|")
    model = _measured_fit(X)
    _, seconds, peak = measure(model.predict, X)
    print(f"| ClusterGANClustering | predict | {seconds:.1f} | {peak:.0f} |")


def memmap():
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "X.npy"
        X = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(200_000, 2_000))
        source = _sparse_input()
        for start in range(0, X.shape[0], 10_000):
            X[start : start + 10_000] = source[start : start + 10_000].toarray()
        X.flush()
        del X, source
        X = np.load(path, mmap_mode="r")
        checksum = sum(float(X[start : start + 10_000].sum()) for start in range(0, len(X), 10_000))
        print(
            f"input: {X.shape[0]:,} x {X.shape[1]:,} float32 memmap, {X.nbytes / 2**20:,.0f} MiB "
            f"(checksum {checksum:.0f})"
        )
        print("| estimator | call | seconds | peak above input (MiB) |")
        print("|---|---|---|---|")
        _measured_fit(X)


def _bare_loop(model, seconds):
    """A minimal PyTorch loop with the fitted loop's signature, timing itself.

    It draws the same batches as the shared loop (the row source cuts them,
    with their neighbours and anchors) and runs the model's own train step
    on them, and nothing else: no record, no progress, no checks.
    """

    def loop(model, X, row_source, train_rows, validation_rows, optimizers, random):
        start = time.perf_counter()
        n_samples = train_rows.shape[0]
        n_batches = max(1, min(-(-n_samples // model.batch_size), n_samples // 2))
        for module in model._modules():
            module.train()
        for _ in range(model.max_iter):
            order = train_rows[random.numpy.permutation(n_samples)]
            for batch in row_source.batches(order, n_batches, random):
                model._train_step(batch, optimizers, random)
        seconds.append(time.perf_counter() - start)

    return loop


def _timed_loop(seconds):
    """The shared loop (``_trainer.train``), timing itself."""

    def loop(*args):
        start = time.perf_counter()
        _trainer.train(*args)
        seconds.append(time.perf_counter() - start)

    return loop


def overhead(repeats=3, max_iter=10):
    X = (load_digits().data / 16).astype(np.float32)
    print(
        f"digits {X.shape}, {max_iter} epochs, default parameters, "
        f"{torch.get_num_threads()} threads"
    )
    print("| estimator | shared loop (s) | bare loop (s) | ratio | same weights |")
    print("|---|---|---|---|---|")
    for estimator in ESTIMATORS:
        shared, bare = [], []
        for _ in range(repeats):  # interleaved, so drifts in machine speed hit both
            # fit runs the loop it imported into the base: replaced there.
            with_base = estimator(n_clusters=10, max_iter=max_iter, random_state=0)
            with mock.patch.object(_base, "train", _timed_loop(shared)):
                with_base.fit(X)
            without = estimator(n_clusters=10, max_iter=max_iter, random_state=0)
            with mock.patch.object(_base, "train", _bare_loop(without, bare)):
                without.fit(X)
        same = all(
            torch.equal(a, b)
            for m, n in zip(with_base._modules(), without._modules(), strict=True)
            for a, b in zip(m.state_dict().values(), n.state_dict().values(), strict=True)
        )
        ratio = np.median(shared) / np.median(bare)
        print(
            f"| {estimator.__name__} | {np.median(shared):.2f} | {np.median(bare):.2f} | "
            f"{ratio:.3f} | {same} |"
        )


def synthetic_documents(n_docs, n_terms, n_topics, tokens=150, topic_share=0.3, seed=0):
    """TF-IDF rows of documents drawn from topics over a Zipfian vocabulary, and their topics.

    Each token is drawn from the whole vocabulary by Zipf's law, or with
    probability ``topic_share`` from its topic's own 200 terms; lengths vary
    from a third to twice ``tokens``.  Only the stored values are ever made.
    """
    from sklearn.feature_extraction.text import TfidfTransformer

    random = np.random.default_rng(seed)
    topics = random.integers(n_topics, size=n_docs)
    lengths = random.integers(tokens // 3, 2 * tokens, size=n_docs)
    doc = np.repeat(np.arange(n_docs), lengths)
    zipf = 1.0 / np.arange(1, n_terms + 1)
    term = random.choice(n_terms, size=doc.size, p=zipf / zipf.sum())
    topical = random.random(doc.size) < topic_share
    own_terms = random.permutation(n_terms)[: n_topics * 200].reshape(n_topics, 200)
    term[topical] = own_terms[topics[doc[topical]], random.integers(200, size=topical.sum())]
    counts = sp.csr_matrix(
        (np.ones(doc.size, dtype=np.float32), (doc, term)), shape=(n_docs, n_terms)
    )
    counts.sum_duplicates()
    return TfidfTransformer(sublinear_tf=True).fit_transform(counts).astype(np.float32), topics


def documents(n_docs=100_000, n_terms=50_000, n_topics=20):
    X, y = synthetic_documents(n_docs, n_terms, n_topics)
    input_mib = (X.data.nbytes + X.indices.nbytes + X.indptr.nbytes) / 2**20
    print(
        f"input: {X.shape[0]:,} x {X.shape[1]:,} CSR TF-IDF, {X.nnz:,} stored values, "
        f"{input_mib:.0f} MiB; {n_topics} topics (a dense copy would be "
        f"{X.shape[0] * X.shape[1] * 4 / 2**30:.0f} GiB)"
    )
    print(
        "| estimator | fit s | before training s | training s | epochs | ACC "
        "| peak above input (MiB) |"
    )
    print("|---|---|---|---|---|---|---|")
    _default_fits(X, y, n_topics, peaks=True)


def _default_fits(X, y, n_clusters, peaks=False):
    """A default fit of every estimator on ``X``, after a warm-up, as rows of a table."""
    from sklearn_latent.metrics import cluster_accuracy

    for estimator in ESTIMATORS:
        estimator(n_clusters=n_clusters, max_iter=1, random_state=0).fit(X[:500])  # warm-up
        model, seconds, peak = measure(estimator(n_clusters=n_clusters, random_state=0).fit, X)
        training = sum(record["seconds"] for record in model.history_)
        print(
            f"| {estimator.__name__} | {seconds:.1f} | {seconds - training:.1f} | "
            f"{training:.1f} | {model.n_iter_} | {cluster_accuracy(y, model.labels_):.3f} |"
            + (f" {peak:.0f} |" if peaks else ""),
            flush=True,
        )


def wide(n_rows=20_000, n_features=3_072, n_clusters=20):
    from sklearn.datasets import make_blobs

    from sklearn_latent.metrics import cluster_accuracy

    codes, y = make_blobs(n_rows, 20, centers=n_clusters, cluster_std=2.5, random_state=0)
    X = codes @ np.random.default_rng(0).normal(size=(20, n_features)) / np.sqrt(20)
    X += np.random.default_rng(1).normal(size=X.shape)
    X = ((X - X.min()) / (X.max() - X.min())).astype(np.float32)
    print(f"input: {n_rows:,} x {n_features:,} float32, {n_clusters} blobs")
    print("| estimator | fit s | before training s | training s | epochs | ACC |")
    print("|---|---|---|---|---|---|")
    try:
        import umap  # noqa: F401  (the peer needs umap-learn, which fit imports lazily)
        from clustering import UMAPGaussianMixture
    except ImportError:
        pass
    else:
        UMAPGaussianMixture(n_clusters, random_state=0).fit(X[:500])  # warm-up: numba compiles
        labels, seconds, _ = measure(UMAPGaussianMixture(n_clusters, random_state=0).fit_predict, X)
        print(f"| UMAP+GMM | {seconds:.1f} | | | | {cluster_accuracy(y, labels):.3f} |", flush=True)
    _default_fits(X, y, n_clusters)


@contextmanager
def _stages_timed(seconds):
    """Record in ``seconds`` the time of every stage a fit reports (``FitProgress.stage``)."""
    original = FitProgress.stage

    @contextmanager
    def timed(progress, name):
        start = time.perf_counter()
        with original(progress, name):
            yield
        seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - start

    with mock.patch.object(FitProgress, "stage", timed):
        yield


def _staged_fit(estimator, X, n_clusters):
    """A default fit after a warm-up: the model, and its table cells of seconds per stage and peak.

    The cells: fit, neighbours (the geometry included), layout and mixture,
    initialisation, training, labels (the rest of the fit, mostly ``labels_``),
    and the peak memory above the input.
    """
    estimator(n_clusters=n_clusters, max_iter=1, random_state=0).fit(X[:2000])  # warm-up
    stages = {}
    with _stages_timed(stages):
        model, seconds, peak = measure(estimator(n_clusters=n_clusters, random_state=0).fit, X)
    training = sum(record["seconds"] for record in model.history_)
    geometry = sum(v for name, v in stages.items() if name.endswith("geometry of the rows"))
    neighbours = stages.get("nearest neighbours", 0.0) + geometry
    layout = stages.get("layout and mixture", 0.0)
    initialisation = stages.get("initialisation", 0.0)
    labels = seconds - neighbours - layout - initialisation - training
    cells = (seconds, neighbours, layout, initialisation, training, labels, peak)
    return model, " | ".join(f"{cell:.0f}" for cell in cells)


def million(n_rows=1_000_000, n_clusters=20, sample_rows=100_000):
    from neighbors import make_rows

    from sklearn_latent._data import nearest_neighbors
    from sklearn_latent.metrics import cluster_accuracy

    X, y = make_rows("manifold", n_rows, n_clusters=n_clusters)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "X.npy"
        np.save(path, X)
        del X
        X = np.load(path, mmap_mode="r")
        X.sum()  # its pages read once: they count as input
        start = time.perf_counter()
        nearest_neighbors(np.asarray(X[:30_000]), np.arange(30_000), 10, 0)
        print(
            f"input: {n_rows:,} x {X.shape[1]} float32 memmap, {n_clusters} touching clusters; "
            f"first approximate search in this process (numba compiles): "
            f"{time.perf_counter() - start:.0f} s"
        )
        print(
            "| estimator | fit s | neighbours s | layout and mixture s | initialisation s | "
            "training s | labels s | peak above input (MiB) | ACC | ACC of a 100,000-row fit |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|")
        for estimator in ESTIMATORS:
            model, cells = _staged_fit(estimator, X, n_clusters)
            sample_model = estimator(n_clusters=n_clusters, random_state=0).fit(X[:sample_rows])
            print(
                f"| {estimator.__name__} | {cells} | {cluster_accuracy(y, model.labels_):.3f} | "
                f"{cluster_accuracy(y, sample_model.predict(X)):.3f} |",
                flush=True,
            )


def million_sparse(n_docs=1_000_000, n_terms=5_000, n_topics=20):
    from sklearn_latent._data import nearest_neighbors
    from sklearn_latent.metrics import cluster_accuracy

    X, y = synthetic_documents(n_docs, n_terms, n_topics, tokens=40)
    input_mib = (X.data.nbytes + X.indices.nbytes + X.indptr.nbytes) / 2**20
    start = time.perf_counter()
    nearest_neighbors(X[:30_000], np.arange(30_000), 10, 0)
    print(
        f"input: {X.shape[0]:,} x {X.shape[1]:,} CSR TF-IDF, {X.nnz:,} stored values, "
        f"{input_mib:.0f} MiB, {n_topics} topics; first approximate search in this process "
        f"(numba compiles): {time.perf_counter() - start:.0f} s"
    )
    print(
        "| estimator | fit s | neighbours s | layout and mixture s | initialisation s | "
        "training s | labels s | peak above input (MiB) | ACC |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    model, cells = _staged_fit(ClusterGANClustering, X, n_topics)
    print(
        f"| ClusterGANClustering | {cells} | {cluster_accuracy(y, model.labels_):.3f} |", flush=True
    )


def _blob_chunk(block_id, rows, n_features, seed=0):
    """Rows of 20 Gaussian blobs, the same for a chunk index wherever they are made."""
    centers = np.random.default_rng(seed).normal(scale=4.0, size=(20, n_features))
    random = np.random.default_rng([seed, block_id])
    truth = random.integers(20, size=rows)
    return (centers[truth] + random.normal(size=(rows, n_features))).astype(np.float32)


def dask(n_rows=1_000_000, n_features=50, n_chunks=20):
    """Labels for a million rows: in this process, and on a two-worker LocalCluster.

    The dask array's chunks are made and held on the workers before the clock
    starts, as rows read from storage there would be: what travels is the
    model, not the rows.
    """
    import dask.array as da
    from dask import delayed as dask_delayed
    from dask.distributed import Client, LocalCluster, wait

    chunk = n_rows // n_chunks
    X = np.concatenate([_blob_chunk(i, chunk, n_features) for i in range(n_chunks)])
    sample = np.random.default_rng(1).choice(n_rows, 10_000, replace=False)
    print(
        f"{n_rows:,} x {n_features} float32 rows (20 blobs), models fitted on 10,000 of them; "
        f"a dask array of {n_chunks} chunks made on the workers"
    )
    print("| estimator | where | seconds | rows / s | labels as local |")
    print("|---|---|---|---|---|")
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with cluster, Client(cluster) as client:
        chunks = [
            da.from_delayed(
                dask_delayed(_blob_chunk)(i, chunk, n_features),
                shape=(chunk, n_features),
                dtype=np.float32,
            )
            for i in range(n_chunks)
        ]
        # Made and held on the workers before the clock starts, as stored rows would be.
        rows = client.persist(da.concatenate(chunks))
        wait(rows)
        for estimator in ESTIMATORS:
            model = estimator(n_clusters=20, random_state=0).fit(X[sample])
            start = time.perf_counter()
            local = model.predict(X)
            local_seconds = time.perf_counter() - start
            # Once untimed: each worker imports torch when it first unpickles a model.
            client.compute(model.predict(rows[: n_chunks * 10])).result()
            start = time.perf_counter()
            remote = client.compute(model.predict(rows)).result()
            remote_seconds = time.perf_counter() - start
            same = bool(np.array_equal(local, remote))
            timings = (("this process", local_seconds), ("2 dask workers", remote_seconds))
            for where, seconds in timings:
                print(
                    f"| {estimator.__name__} | {where} | {seconds:.1f} | "
                    f"{n_rows / seconds:,.0f} | {same} |",
                    flush=True,
                )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("section", nargs="?", choices=SECTIONS, help="default: all, in turn")
    section = parser.parse_args(argv).section
    if section is not None:
        globals()[section]()
        return
    for section in SECTIONS:
        print(f"\n## {section}\n", flush=True)
        subprocess.run([sys.executable, __file__, section], check=True)


if __name__ == "__main__":
    main()
