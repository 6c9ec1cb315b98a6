"""Training throughput: rows per second of each model's train step, against the machine.

For each estimator at its default networks on MNIST-shaped rows (784 features,
10 clusters), the script times the model's own ``_train_step`` on batches cut
by the shared row source (neighbours and manifold anchors included, as in a
default fit) for several batch sizes, and counts the step's floating-point
operations with :class:`torch.utils.flop_counter.FlopCounterMode`.  In the
same process and on the same threads it times a square ``torch.mm``: the
machine's own dense-matmul rate.  Two ratios come out:

- rows/s at the default batch size over the best rows/s of any batch size;
- the step's achieved FLOP/s over the matmul's FLOP/s.

A second table times the default fit's steps with 1 thread and with all
threads, on an idle machine and while ``--busy`` other processes spin on the
cores (the situation of a grid search or of a shared laptop).

With ``--image-shape 1 28 28`` the rows are read as 28x28 images and every
model trains the convolutional nets of its paper instead of its MLPs.

Usage::

    python benchmarks/throughput.py                 # batch sizes, then threads
    python benchmarks/throughput.py --section threads --busy 1
    python benchmarks/throughput.py --section batch --image-shape 1 28 28
    python benchmarks/throughput.py --section batch --device cuda
"""

import argparse
import multiprocessing
import os
import time
import warnings

import numpy as np
import torch
from scale import ESTIMATORS
from sklearn.exceptions import ConvergenceWarning
from torch.utils.flop_counter import FlopCounterMode

from sklearn_latent._data import make_row_source, nearest_neighbors
from sklearn_latent._runtime import TrainingRandomness

BATCH_SIZES = (64, 128, 256, 512, 1024, 2048)
CPU = torch.device("cpu")
N_ROWS, N_FEATURES, N_CLUSTERS = 8192, 784, 10


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_flops_per_second(device, size=1024, repeats=20):
    a, b = torch.randn(size, size, device=device), torch.randn(size, size, device=device)
    torch.mm(a, b)  # warm-up
    synchronize(device)
    start = time.perf_counter()
    for _ in range(repeats):
        torch.mm(a, b)
    synchronize(device)
    return 2 * size**3 * repeats / (time.perf_counter() - start)


def prepared(estimator, X, batch_size, image_shape=None, device=CPU):
    """A model with its networks built, its optimisers and a batch iterator, as fit makes them."""
    model = estimator(
        device=str(device),
        n_clusters=N_CLUSTERS,
        batch_size=batch_size,
        max_iter=1,
        image_shape=image_shape,
        random_state=0,
    )
    with warnings.catch_warnings():
        # Uniform random rows hold no clusters: the fit only builds the networks.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X[:512])  # builds the networks and the fitted record
    random = TrainingRandomness(0, device)
    rows = np.arange(X.shape[0])
    neighbors = nearest_neighbors(X, rows, model.n_neighbors, seed=0)
    anchors = random.numpy.integers(-1, N_CLUSTERS, X.shape[0])
    source = make_row_source(X, neighbors, None, device, anchors)
    n_batches = X.shape[0] // batch_size
    batches = list(source.batches(random.numpy.permutation(rows), n_batches, random))
    model._begin_epoch(X, rows, random)  # the per-epoch state a step reads (DEC's target)
    return model, model._make_optimizers(), batches, random


def time_steps(estimator, X, batch_size, image_shape=None, device=CPU, min_seconds=3.0):
    """Rows per second and FLOP per row of ``estimator``'s train step at ``batch_size``."""
    model, optimizers, batches, random = prepared(estimator, X, batch_size, image_shape, device)
    for module in model._modules():
        module.train()
    model._train_step(batches[0], optimizers, random)  # warm-up
    with FlopCounterMode(display=False) as counter:
        model._train_step(batches[1 % len(batches)], optimizers, random)
    flops_per_row = counter.get_total_flops() / batch_size
    synchronize(device)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < min_seconds:
        # On a GPU the steps queue up: the clock reads the launches, and
        # one synchronisation per ten steps keeps them within ten of the GPU.
        for _ in range(10 if device.type == "cuda" else 1):
            model._train_step(batches[steps % len(batches)], optimizers, random)
            steps += 1
        synchronize(device)
    rows_per_second = steps * batch_size / (time.perf_counter() - start)
    return rows_per_second, flops_per_row


def spin(stop):
    while not stop.is_set():
        sum(range(10_000))


def batch_sizes_section(X, estimators, image_shape=None, device=CPU, min_seconds=3.0):
    threads = torch.get_num_threads()
    nets = "MLPs" if image_shape is None else f"convolutional nets, images {image_shape}"
    where = f"{threads} torch thread(s)" if device.type == "cpu" else str(device)
    print(f"\n### Train-step throughput, {nets}, {where}\n")
    # A GPU needs a larger product than 1024 x 1024 to reach its rate.
    size = 1024 if device.type == "cpu" else 8192
    mm = matmul_flops_per_second(device, size)
    print(f"torch.mm {size}x{size} float32: {mm / 1e9:.1f} GFLOP/s\n")
    print("| estimator | batch | rows/s | GFLOP/s | of torch.mm |")
    print("|---|---|---|---|---|")
    summary = []
    for estimator in estimators:
        default = estimator().batch_size
        rates = {}
        for batch_size in BATCH_SIZES:
            rows_per_second, flops_per_row = time_steps(
                estimator, X, batch_size, image_shape, device, min_seconds
            )
            rates[batch_size] = (rows_per_second, rows_per_second * flops_per_row)
            print(
                f"| {estimator.__name__} | {batch_size} | {rows_per_second:,.0f} | "
                f"{rates[batch_size][1] / 1e9:.1f} | {rates[batch_size][1] / mm:.2f} |",
                flush=True,
            )
        best = max(rates, key=lambda size: rates[size][0])
        summary.append((estimator.__name__, default, best, rates[default], rates[best][0], mm))
    print(
        "\n| estimator | default batch | rows/s | best batch | default / best rows/s | "
        "default FLOP/s / torch.mm |"
    )
    print("|---|---|---|---|---|---|")
    for name, default, best, (rows, flops), best_rows, mm in summary:
        print(
            f"| {name} | {default} | {rows:,.0f} | {best} | {rows / best_rows:.2f} | "
            f"{flops / mm:.2f} |"
        )


def threads_section(X, estimators, busy):
    stop = multiprocessing.Event()
    spinners = [multiprocessing.Process(target=spin, args=(stop,)) for _ in range(busy)]
    for process in spinners:
        process.start()
    all_threads = os.cpu_count()
    print(f"\n### Threads, {busy} busy process(es) beside the fit, default batch size\n")
    print("| estimator | threads | rows/s |")
    print("|---|---|---|")
    try:
        for estimator in estimators:
            for threads in sorted({1, all_threads}):
                torch.set_num_threads(threads)
                rows_per_second, _ = time_steps(estimator, X, estimator().batch_size)
                print(f"| {estimator.__name__} | {threads} | {rows_per_second:,.0f} |", flush=True)
    finally:
        stop.set()
        for process in spinners:
            process.join()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--section", choices=["batch", "threads", "all"], default="all")
    parser.add_argument("--busy", type=int, nargs="+", default=[0, 1])
    parser.add_argument(
        "--models", nargs="+", help="estimator names without 'Clustering' (default: all)"
    )
    parser.add_argument(
        "--image-shape",
        type=int,
        nargs=3,
        metavar=("C", "H", "W"),
        help="read the rows as images of this shape: the convolutional nets (batch section)",
    )
    parser.add_argument(
        "--device", default="cpu", help="the models' device (batch section), e.g. cuda"
    )
    parser.add_argument(
        "--min-seconds", type=float, default=3.0, help="time each batch size at least this long"
    )
    args = parser.parse_args()
    device = torch.device(args.device)
    image_shape = None if args.image_shape is None else tuple(args.image_shape)
    estimators = [
        estimator
        for estimator in ESTIMATORS
        if not args.models or estimator.__name__.removesuffix("Clustering") in args.models
    ]
    if image_shape is not None and np.prod(image_shape) != N_FEATURES:
        parser.error(f"--image-shape must hold {N_FEATURES} values, e.g. 1 28 28")
    X = np.random.default_rng(0).random((N_ROWS, N_FEATURES), dtype=np.float32)
    print(f"torch {torch.__version__}, {os.cpu_count()} cores, {torch.get_num_threads()} threads")
    if args.section in ("batch", "all"):
        batch_sizes_section(X, estimators, image_shape, device, args.min_seconds)
    if args.section in ("threads", "all"):
        for busy in args.busy:
            threads_section(X, estimators, busy)


if __name__ == "__main__":
    main()
