"""Numpydoc entries of the parameters and attributes every model shares, each written once.

A model's class docstring names a shared entry by a line ``name : (shared)``
under its Parameters or Attributes heading; :func:`fill_shared_entries`
replaces that line by the entry below, at the line's indentation, so every
model describes it in the same words.
"""

import re

SHARED_ENTRIES = {
    "max_clusters": """max_clusters : int, default=None
    The largest number of clusters ``n_clusters="auto"`` considers; None
    means 50.  The search also stops at a fifth of the rows it lays out (a
    sample of at most 5,000): 400 rows hold at most 80 clusters.
    Ignored when ``n_clusters`` is a number.""",
    "n_clusters_": """n_clusters_ : int
    The number of clusters fitted: ``n_clusters``, or the number found
    when it is ``"auto"``.  ``predict_proba`` has this many columns,
    ``sample`` draws from this many clusters.""",
    "n_clusters_search_": """n_clusters_search_ : dict of ndarray
    Only with ``n_clusters="auto"``: the search behind ``n_clusters_``.  For
    each candidate number of clusters K (``"n_clusters"``, from 1), from the
    neighbour graph cut into small pieces and merged back, the pair most
    linked first (three layouts, averaged): the link ratio of the split that
    made the K-th cluster, the edge weight between its two sides over the
    weight expected between groups of their degrees (``"link_ratio"``, NaN
    for K = 1), and the graph's modularity with K clusters
    (``"modularity"``).  The number found is the largest K with a link
    ratio of at most 1/3 whose clusters all hold 0.5 % of the rows: plot
    ``link_ratio`` against ``n_clusters`` to see how clear that split is
    and where the next candidates lie.""",
    "metric": """metric : {"auto", "euclidean", "cosine"}, default="auto"
    How rows are compared to find their neighbours, for the neighbour
    term and the manifold initialisation: by distance, or by angle
    (rows scaled to unit length first), as for documents, which are
    alike when their terms are, whatever their lengths.  ``"auto"`` is
    ``"cosine"`` for a sparse matrix without negative entries (term counts,
    TF-IDF) and ``"euclidean"`` otherwise; ``metric_`` says which was used.""",
    "metric_": """metric_ : {"euclidean", "cosine"}
    The geometry neighbours were found in, ``metric`` with ``"auto"`` resolved.""",
}

_SHARED_LINE = re.compile(r"^(?P<indent>[ ]*)(?P<name>\w+) : \(shared\)$", re.MULTILINE)


def fill_shared_entries(cls):
    """Class decorator: put the shared entries into ``cls.__doc__`` where it names them."""

    def entry(match):
        indent = match.group("indent")
        return "\n".join(
            indent + line if line else line
            for line in SHARED_ENTRIES[match.group("name")].splitlines()
        )

    if cls.__doc__ is not None:  # None under python -OO
        cls.__doc__ = _SHARED_LINE.sub(entry, cls.__doc__)
    return cls
