"""Structured InfoGAN codes: a Bayesian network over the codes.

Beyazit, Tuncel, Yuan, Tzeng and Wu, "Learning Interpretable Representations
with Informative Entanglements", IJCAI 2020.  The input codes and the codes Q
extracts from generated rows form a Bayesian network over a user-given
directed acyclic graph; its local conditionals are fitted by maximum
likelihood on each batch, and the network's negative log-likelihood joins
G's loss.  This module validates the graph (:func:`code_graph_parents`),
names the codes (:func:`code_names`), finds the entangled ones
(:func:`entangled_codes`), builds a batch's nodes (:func:`code_nodes`) and
computes the network's and InfoGAN's continuous terms
(:func:`linear_gaussian_network_nll`, :func:`continuous_code_nll`).
"""

import math

import numpy as np
import torch
import torch.nn.functional as F


def code_names(n_continuous):
    """Names of the codes a ``code_graph`` may use: input codes, then extracted codes."""
    continuous = [f"c{i}" for i in range(n_continuous)]
    return ["category", *continuous, *(f"{name}_hat" for name in continuous)]


def code_graph_parents(code_graph, n_continuous):
    """Validate ``code_graph``; return each extracted code's parents, in a topological order.

    Raises ``ValueError`` naming the problem for unknown names, edges into
    input codes, a malformed adjacency matrix, and cycles.
    """
    if code_graph is None:
        return {}
    names = code_names(n_continuous)
    if n_continuous == 0:
        raise ValueError(
            "code_graph relates the continuous codes, but n_continuous=0; set n_continuous to "
            "the number of continuous codes, or code_graph=None."
        )
    if isinstance(code_graph, str):  # "one-to-one", the only string the constraints allow
        edges = [(f"c{i}", f"c{i}_hat") for i in range(n_continuous)]
    else:
        try:
            array = np.asarray(code_graph)
        except ValueError:  # ragged: neither pairs nor a matrix
            array = np.asarray(code_graph, dtype=object)
        if array.dtype.kind in "biuf" and array.size:
            if array.shape != (len(names), len(names)):
                raise ValueError(
                    f"An adjacency matrix code_graph must be {len(names)} x {len(names)}, one row "
                    f"and column per code in the order {names}; got shape {array.shape}."
                )
            edges = [(names[i], names[j]) for i, j in zip(*np.nonzero(array), strict=True)]
        elif array.size == 0 or (array.ndim == 2 and array.shape[1] == 2):
            edges = [(str(parent), str(child)) for parent, child in array.reshape(-1, 2)]
        else:
            raise ValueError(
                "code_graph must be 'one-to-one', a list of (parent, child) name pairs such as "
                f"[('c0', 'c0_hat')], or a square adjacency matrix; got {code_graph!r}."
            )
    unknown = sorted({name for edge in edges for name in edge} - set(names))
    if unknown:
        raise ValueError(
            f"code_graph names unknown codes {unknown}; with n_continuous={n_continuous} the "
            f"codes are {names}."
        )
    into_inputs = [edge for edge in edges if not edge[1].endswith("_hat")]
    if into_inputs:
        raise ValueError(
            f"code_graph has edges into input codes, {into_inputs[:3]}: the input codes are "
            "drawn independently from their prior and cannot have parents. Point edges into "
            "extracted codes (the names ending in '_hat')."
        )
    parents = {}
    for parent, child in edges:
        if parent not in parents.setdefault(child, []):
            parents[child].append(parent)
    # Kahn's algorithm: a child is placed once all its extracted parents are.
    ordered, pending = {}, dict(parents)
    while pending:
        ready = [
            child
            for child, child_parents in pending.items()
            if all(p in ordered or p not in pending for p in child_parents)
        ]
        if not ready:
            raise ValueError(
                f"code_graph has a cycle, {_find_cycle(pending)}; a Bayesian network needs a "
                "directed acyclic graph, so remove an edge of the cycle."
            )
        for child in ready:
            ordered[child] = tuple(pending.pop(child))
    return ordered


def _find_cycle(pending):
    """A cycle among ``pending`` children, each of which has a parent in ``pending``."""
    path, node = [], next(iter(pending))
    while node not in path:
        path.append(node)
        node = next(p for p in pending[node] if p in pending)
    cycle = path[path.index(node) :]
    # path runs child -> parent; show it in the direction of the edges.
    return " -> ".join([*reversed(cycle), cycle[-1]])


def entangled_codes(parents):
    """The extracted codes with a parent other than their own input code.

    Under an edge ``c0 -> c2_hat`` the graph, not InfoGAN's ``L_I``, defines
    ``c2_hat``: it may mix ``c0`` in, so it is no estimate of ``c2``.
    """
    return [
        child
        for child, child_parents in parents.items()
        if tuple(child_parents) != (child.removesuffix("_hat"),)
    ]


def code_nodes(categories, continuous, extracted, n_clusters):
    """The nodes of the code graph for a batch of fakes.

    The input codes (``"category"`` one-hot, ``"c0"`` ...) and the codes Q
    extracted from the rows generated from them (``"c0_hat"`` ..., the means
    of Q's continuous heads), each of shape (batch_size, width).
    """
    nodes = {"category": F.one_hot(categories, n_clusters).float()}
    for i in range(continuous.shape[1]):
        nodes[f"c{i}"] = continuous[:, i : i + 1]
        nodes[f"c{i}_hat"] = extracted[:, i : i + 1]
    return nodes


def continuous_code_nll(mean, log_std, continuous, entangled=(), nodes=None):
    """The continuous part of InfoGAN's ``-L_I``, per row, with entangled codes read back.

    An InfoGAN code is read by Q's Gaussian head, ``N(mean, exp(log_std)^2)``
    (Chen et al. 2016, sec. 5).  A code the graph entangles is not: its
    extracted value may mix in its other parents, so its input code is
    instead read linearly from all the extracted codes (``nodes``), a
    linear-Gaussian bound on ``I(c_i; G(z, c))`` that keeps G using the code
    without pinning ``ci_hat`` to ``E[c_i | x]``.
    """
    nll = mean.new_zeros(())
    n_continuous = continuous.shape[1]
    target = continuous
    if entangled:  # plain InfoGAN's step pays for no indexing
        kept = [i for i in range(n_continuous) if f"c{i}_hat" not in entangled]
        mean, log_std, target = (_columns(t, kept) for t in (mean, log_std, continuous))
    if mean.shape[1]:
        log_std = log_std.clamp(-5, 5)
        z = (target - mean) / log_std.exp()
        nll = (0.5 * z**2 + log_std + 0.5 * math.log(2 * math.pi)).sum(dim=1).mean()
    if entangled:
        extracted = tuple(f"c{i}_hat" for i in range(n_continuous))
        read_back = {code.removesuffix("_hat"): extracted for code in entangled}
        nll = nll + linear_gaussian_network_nll(nodes, read_back)
    return nll


def _columns(tensor, columns):
    """``tensor[:, columns]`` without indexing by a list, which copies the index
    from the host: on a GPU, a synchronisation in every train step."""
    if not columns:
        return tensor[:, :0]
    return torch.stack([tensor[:, column] for column in columns], dim=1)


def linear_gaussian_network_nll(nodes, parents, min_residual_variance=1e-2):
    """Negative log-likelihood per row of a linear-Gaussian Bayesian network fitted to the batch.

    Each child ``x`` is modelled as ``N(w . [1, parents], s^2)`` with ``w``
    and ``s^2`` the batch's maximum-likelihood (least-squares) estimates; a
    parent may be a one-hot block (a categorical code), which makes the
    network conditional linear-Gaussian.  At the maximum-likelihood
    parameters a child's term is ``log(2 pi e s^2) / 2``.

    Every continuous node is first standardised over the batch, so
    ``s^2 = 1 - R^2`` and a child's term is, up to a constant, minus the
    Gaussian mutual information between the child and its parents
    (Koller and Friedman, "Probabilistic Graphical Models", 2009, sec. 18.3.1:
    the likelihood score is ``sum_i I(X_i; Pa_i) - sum_i H(X_i)``).  A code can
    therefore not lower the score by shrinking its scale.  ``s^2`` is floored
    at ``min_residual_variance`` so that a perfect fit cannot drive the loss
    to minus infinity.  Terms that cannot change -- nodes without parents,
    which are standard after standardisation -- are left out.

    Parameters
    ----------
    nodes : dict of str to tensor of shape (batch_size, width)
        Values of each node: width 1 for a continuous node, the number of
        categories for a one-hot categorical node (parents only).
    parents : dict of str to sequence of str
        Parents of each child node; every child must be continuous.
    min_residual_variance : float, default=1e-2
        Floor of a standardised child's residual variance.

    Returns
    -------
    nll : tensor
        Sum over the children of their mean negative log-likelihood per row.
    """
    device_type = next(iter(nodes.values())).device.type
    with torch.autocast(device_type, enabled=False):  # the solve needs float32
        return _linear_gaussian_network_nll(
            {name: value.float() for name, value in nodes.items()}, parents, min_residual_variance
        )


def _linear_gaussian_network_nll(nodes, parents, min_residual_variance):
    standardized = {
        name: value
        if value.shape[1] > 1
        # The 1e-6 keeps a (near-)constant code from blowing up the gradient.
        else (value - value.mean(dim=0)) / (value.var(dim=0, unbiased=False) + 1e-6).sqrt()
        for name, value in nodes.items()
    }
    nll = next(iter(nodes.values())).new_zeros(())
    for child, child_parents in parents.items():
        target = standardized[child]
        blocks = [torch.ones_like(target)]
        for parent in child_parents:
            value = standardized[parent]
            # Drop one category of a one-hot block: with the intercept it would be collinear.
            blocks.append(value[:, 1:] if value.shape[1] > 1 else value)
        design = torch.cat(blocks, dim=1)
        # Least squares by the normal equations; the small ridge keeps them
        # positive definite when a batch misses a category or two parents
        # coincide, so solve_ex can skip solve's error check, a host sync on GPUs.
        gram = design.T @ design
        ridge = 1e-4 * design.shape[0] * torch.eye(gram.shape[0], device=gram.device)
        weights = torch.linalg.solve_ex(gram + ridge, design.T @ target)[0]
        residual_variance = (target - design @ weights).pow(2).mean()
        variance = residual_variance.clamp_min(min_residual_variance)
        nll = nll + 0.5 * (torch.log(2 * math.pi * variance) + residual_variance / variance)
    return nll
