"""Default fits on a device: their clusters, and where a fit's time goes.

Each deep model is fitted with its defaults (``n_clusters`` the number of
classes) on each data set of ``clustering.py`` (``--datasets``; the
``-images`` sets give the models ``image_shape`` and so their convolutional
nets) on ``--device``.  Per fit the script prints ACC, the whole fit's
seconds, the seconds of its training epochs (the sum of ``history_``'s
``seconds``) and the training rows per second, and the rest: the start
(neighbours, layout and mixtures, which run on the CPU whatever the device),
VaDE's and DEC's autoencoder pretraining, and the final labels.  The first
fit of a process also pays for CUDA's start and numba's compilation: a
warm-up fit on 300 rows runs before the timed ones.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/devices.py --device cpu
    python benchmarks/devices.py --device cuda --datasets mnist5k mnist5k-images
"""

import argparse
import os
import time

import numpy as np
import torch
from clustering import DEEP_MODELS, IMAGE_SHAPES, cpu_name, load, make_model
from sklearn.datasets import make_blobs

from sklearn_latent.metrics import cluster_accuracy


def timed_fit(model, X, y):
    start = time.perf_counter()
    model.fit(X)
    seconds = time.perf_counter() - start
    train_seconds = sum(record["seconds"] for record in model.history_)
    n_train = X.shape[0]
    if model.n_iter_no_change is not None:  # early stopping holds rows out
        n_train -= round(model.validation_fraction * X.shape[0])
    return {
        "ACC": cluster_accuracy(y, model.labels_),
        "fit": seconds,
        "train": train_seconds,
        "rest": seconds - train_seconds,
        "epochs": model.n_iter_,
        "rows/s": model.n_iter_ * n_train / train_seconds,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="the models' device, e.g. cpu or cuda")
    parser.add_argument("--datasets", nargs="+", default=["mnist5k", "mnist5k-images"])
    parser.add_argument("--models", nargs="+", default=list(DEEP_MODELS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    args = parser.parse_args()

    device = torch.device(args.device)
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else "none"
    print(
        f"machine: {cpu_name()}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads, "
        f"GPU: {gpu}, torch {torch.__version__}, device {device}\n"
    )
    print("| data | model | device | ACC | fit s | epochs s | rest s | epochs | train rows/s |")
    print("|---|---|---|---|---|---|---|---|---|")
    warm_up, _ = make_blobs(300, 64, centers=3, random_state=0)
    make_model(args.models[0], 3, 0, {"device": args.device, "max_iter": 1}).fit(warm_up)
    for dataset in args.datasets:
        X, y = load(dataset)
        params = {"device": args.device}
        if dataset in IMAGE_SHAPES:
            params["image_shape"] = IMAGE_SHAPES[dataset]
        for model_name in args.models:
            for seed in args.seeds:
                model = make_model(model_name, len(np.unique(y)), seed, params)
                run = timed_fit(model, X, y)
                print(
                    f"| {dataset} | {model_name} | {args.device} | {run['ACC']:.3f} | "
                    f"{run['fit']:.1f} | {run['train']:.1f} | {run['rest']:.1f} | "
                    f"{run['epochs']} | {run['rows/s']:,.0f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
