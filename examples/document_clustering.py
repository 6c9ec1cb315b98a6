"""Cluster news articles by topic: TF-IDF and a deep clusterer in one Pipeline.

Reads a CSV of documents (a ``text`` column, and a ``category`` column if the
true topics are known), vectorises it with ``TfidfVectorizer`` and clusters
it with ``VaDEClustering`` in one :class:`~sklearn.pipeline.Pipeline`.  The
sparse TF-IDF matrix goes in as it is: with ``metric="auto"`` the model sees
that its rows are documents, compares them by angle (cosine) and decodes
them with a multinomial over the terms.  It prints the top terms of each
cluster, the scores against the known topics and k-means' beside them, and
writes two pictures to ``examples/output/``:

- ``documents_top_terms.png``: each cluster's ten heaviest terms;
- ``documents_topics_per_cluster.png``: how the known topics spread over the
  clusters (a perfect clustering has one dark cell per row).

By default it reads the 1,249 BBC articles of the project's shared data
(``../shared/data/bbc_news.csv.gz``, Greene and Cunningham, ICML 2006); pass
your own file with ``--data``:

    python examples/document_clustering.py
    python examples/document_clustering.py --data my_docs.csv --n-clusters 8
    python examples/document_clustering.py --fast       # a smoke run of a few seconds
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix
from sklearn.pipeline import make_pipeline

from sklearn_latent import VaDEClustering
from sklearn_latent.metrics import cluster_accuracy

BBC = Path(__file__).resolve().parents[2] / "shared" / "data" / "bbc_news.csv.gz"


def top_terms(tfidf, labels, terms, n_terms=10):
    """Each cluster's heaviest terms: the largest mean TF-IDF weights of its documents."""
    tops = {}
    for cluster in np.unique(labels):
        weights = np.asarray(tfidf[labels == cluster].mean(axis=0)).ravel()
        order = np.argsort(weights)[::-1][:n_terms]
        tops[cluster] = (terms[order], weights[order])
    return tops


def plot_top_terms(tops, path):
    columns = min(len(tops), 5)
    rows = -(-len(tops) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 3.0 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.set_visible(False)
    for ax, (cluster, (words, weights)) in zip(axes.ravel(), tops.items(), strict=False):
        ax.set_visible(True)
        ax.barh(np.arange(len(words))[::-1], weights, color="tab:blue")
        ax.set_yticks(np.arange(len(words))[::-1], words)
        ax.set_title(f"cluster {cluster}")
        ax.set_xlabel("mean TF-IDF weight")
    figure.suptitle("The ten heaviest terms of each cluster")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def plot_topics_per_cluster(categories, labels, path):
    names, codes = np.unique(categories, return_inverse=True)
    counts = contingency_matrix(codes, labels)
    share = counts / counts.sum(axis=0, keepdims=True)
    figure, ax = plt.subplots(figsize=(1.2 * counts.shape[1] + 2.5, 0.6 * len(names) + 1.8))
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for (row, column), count in np.ndenumerate(counts):
        color = "white" if share[row, column] > 0.5 else "black"
        ax.text(column, row, count, ha="center", va="center", color=color)
    ax.set_xticks(np.arange(counts.shape[1]), [f"cluster {k}" for k in range(counts.shape[1])])
    ax.set_yticks(np.arange(len(names)), names)
    ax.set_xlabel("cluster found by the model")
    ax.set_ylabel("known topic")
    figure.colorbar(image, label="share of the cluster's documents")
    ax.set_title("Known topics per cluster (numbers: documents)")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=BBC, help="CSV with a 'text' column")
    parser.add_argument("--n-clusters", type=int, default=None, help="default: the categories")
    parser.add_argument("--fast", action="store_true", help="300 documents and 2 epochs")
    parser.add_argument("--output-dir", type=Path, default=Path(__file__).parent / "output")
    args = parser.parse_args(argv)

    documents = pd.read_csv(args.data)
    if args.fast:
        documents = documents.sample(300, random_state=0)
    texts = documents["text"]
    categories = documents["category"].to_numpy() if "category" in documents else None
    n_clusters = args.n_clusters or (len(np.unique(categories)) if categories is not None else 5)

    model = make_pipeline(
        TfidfVectorizer(max_features=2000, stop_words="english", sublinear_tf=True),
        VaDEClustering(
            n_clusters=n_clusters, random_state=0, **({"max_iter": 2} if args.fast else {})
        ),
    )
    labels = model.fit_predict(texts)
    vectorizer, clusterer = model[0], model[-1]
    tfidf = vectorizer.transform(texts)
    print(
        f"{len(texts)} documents, {tfidf.shape[1]} terms; the model compared them by "
        f"{clusterer.metric_} and decoded them with a {clusterer.likelihood_} likelihood"
    )
    if args.fast:
        print("(a smoke run: two epochs on 300 documents; its numbers are no measure)")
    tops = top_terms(tfidf, labels, vectorizer.get_feature_names_out())
    for cluster, (words, _) in tops.items():
        print(f"cluster {cluster} ({np.sum(labels == cluster)} documents): {', '.join(words)}")

    args.output_dir.mkdir(parents=True, exist_ok=True)
    plot_top_terms(tops, args.output_dir / "documents_top_terms.png")
    if categories is not None:
        kmeans = KMeans(n_clusters, n_init=10, random_state=0).fit_predict(tfidf)
        for name, found in (("VaDE", labels), ("k-means (10 restarts)", kmeans)):
            print(
                f"{name}: ACC {cluster_accuracy(categories, found):.3f}, "
                f"NMI {normalized_mutual_info_score(categories, found):.3f}"
            )
        plot_topics_per_cluster(
            categories, labels, args.output_dir / "documents_topics_per_cluster.png"
        )
    print(f"pictures in {args.output_dir}")


if __name__ == "__main__":
    main()
