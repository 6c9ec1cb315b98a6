"""Numpydoc entries of the parameters and attributes every model shares, each written once.

A model's class docstring names a shared entry by a line ``name : (shared)``
under its Parameters or Attributes heading; :func:`fill_shared_entries`
replaces that line by the entry below, at the line's indentation, so every
model describes it in the same words.
"""

import re

SHARED_ENTRIES = {
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
