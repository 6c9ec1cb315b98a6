"""What a fit needs from torch's runtime without touching its process-wide state.

Torch draws a module's initial weights from its *global* generator, which
every thread of the process shares: seeding it for a fit would rewind the
stream of any other thread, and another thread drawing from it while a fit
builds its networks would change that fit's weights.  :func:`drawing_from`
instead routes every draw made on the calling thread to the fit's own
generator, so the networks come out of torch's own initialisation code (the
same distributions, e.g. ``kaiming_uniform_(a=sqrt(5))`` for linear weights)
while the global generator is neither read nor advanced.

:func:`interruptions_deferred` holds Ctrl-C back while a fit completes what a
finished training run still needs (its labels), so that an interruption
cannot throw trained epochs away.

Beside them: the ``device`` parameter resolved to a :class:`torch.device`
(:func:`resolve_device`), the fit's random streams, all drawn from one seed
(:class:`TrainingRandomness`, :func:`seed_from_random_state`), mixed
precision for a train step (:func:`autocast`), and a pickled model's state
moved to the CPU (:func:`portable_state`).
"""

import copy
import inspect
import signal
import threading
from contextlib import contextmanager
from functools import cache

import numpy as np
import torch
from sklearn.utils import check_random_state
from torch.overrides import TorchFunctionMode

#: Torch device types a model trains on.
DEVICE_TYPES = ("cpu", "cuda", "mps")

#: torch functions and tensor methods that draw random numbers and take ``generator=``.
_RANDOM_OPERATIONS = frozenset(
    {
        "rand",
        "randn",
        "randint",
        "randperm",
        "rand_like",
        "randn_like",
        "randint_like",
        "normal",
        "poisson",
        "bernoulli",
        "multinomial",
        "uniform_",
        "normal_",
        "bernoulli_",
        "random_",
        "exponential_",
        "geometric_",
        "log_normal_",
        "cauchy_",
    }
)


@cache
def _takes_generator(function):
    """Whether ``function`` draws at random and accepts ``generator=`` (e.g. ``nn.init``'s)."""
    if getattr(function, "__name__", None) in _RANDOM_OPERATIONS:
        return True
    if not inspect.isfunction(function):
        return False  # a builtin without a signature that draws nothing
    return "generator" in inspect.signature(function).parameters


class _DefaultGenerator(TorchFunctionMode):
    """Gives every random draw on this thread that names no generator ``generator``."""

    def __init__(self, generator):
        super().__init__()
        self.generator = generator

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if kwargs.get("generator") is None and _takes_generator(func):
            kwargs = {**kwargs, "generator": self.generator}
        return func(*args, **kwargs)


def drawing_from(generator):
    """A context in which torch draws on this thread from ``generator`` unless told otherwise.

    Torch function modes are thread-local, so other threads keep drawing from
    wherever they did.  A draw that names its own generator keeps it.

    Parameters
    ----------
    generator : torch.Generator
        The generator every random draw without one takes.

    Returns
    -------
    context : context manager
        Use it in a ``with`` statement around the code that builds networks.
    """
    return _DefaultGenerator(generator)


@contextmanager
def interruptions_deferred():
    """Within the block, Ctrl-C (SIGINT) is absorbed instead of raising ``KeyboardInterrupt``.

    For work that must complete once it starts.  Python delivers SIGINT to
    the main thread only, so in any other thread (or where a handler not set
    from Python could not be restored) there is nothing to hold back and the
    block runs as it is.  A Ctrl-C pressed meanwhile is not raised afterwards:
    the caller is already ending on an interruption.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is None:
        yield
        return
    signal.signal(signal.SIGINT, lambda signum, frame: None)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def resolve_device(device):
    """Map the ``device`` parameter to a :class:`torch.device`.

    ``"auto"`` picks CUDA when present, then Apple MPS, then the CPU.
    """
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a device name; use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'."
        ) from exc
    if resolved.type not in DEVICE_TYPES:
        raise ValueError(
            f"device={device!r} is not a device the model can compute on; use 'auto', 'cpu', "
            "'cuda', 'cuda:N' or 'mps'."
        )
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but this torch build sees no CUDA GPU; "
            "use device='auto' to fall back to the CPU."
        )
    if resolved.type == "cuda" and (resolved.index or 0) >= torch.cuda.device_count():
        raise ValueError(
            f"device={device!r} was requested but only {torch.cuda.device_count()} CUDA "
            "GPU(s) are visible; use 'cuda' or a smaller index."
        )
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(
            f"device={device!r} was requested but MPS is not available; use device='auto'."
        )
    return resolved


def available_device(device):
    """The device a loaded model runs on: the requested one if present, else CPU."""
    try:
        return resolve_device(device)
    except ValueError:
        return torch.device("cpu")


class TrainingRandomness:
    """The random streams of one ``fit``, all derived from one seed.

    ``numpy`` shuffles rows on the host; ``torch`` draws latent samples and
    other noise directly on the training device; ``initialization`` draws the
    networks' initial weights (see :func:`~sklearn_latent._runtime.drawing_from`).
    None touches the global NumPy or torch generators.
    """

    def __init__(self, seed, device):
        self.seed = seed
        self.numpy = np.random.default_rng(seed)
        self.torch = torch.Generator(device=device)
        self.torch.manual_seed(seed)
        # The networks' initial weights, drawn on the CPU where they are built.
        self.initialization = torch.Generator().manual_seed(seed)

    def randn(self, *shape, device):
        return torch.randn(*shape, generator=self.torch, device=device)

    def rand(self, *shape, device):
        return torch.rand(*shape, generator=self.torch, device=device)

    def randint(self, high, shape, device):
        return torch.randint(high, shape, generator=self.torch, device=device)


def seed_from_random_state(random_state, n_iter_before=None):
    """An integer seed from ``random_state`` without touching NumPy's global RNG.

    ``None`` draws fresh OS entropy (unlike ``check_random_state(None)``, which
    would advance the global ``np.random`` state).  ``n_iter_before``, the
    epochs a warm start continues from, mixes into the seed: a continued fit
    draws fresh batches and noise, not a replay of the first.
    """
    if random_state is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0])
    else:
        seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    if n_iter_before is None:
        return seed
    return int(np.random.SeedSequence([seed, n_iter_before]).generate_state(1)[0])


def portable_state(state):
    """A pickled model's state with its modules and ``device_`` on the CPU, so it loads anywhere.

    A copy: the live instance keeps its modules where they are.
    """
    state = dict(state)
    for name, value in state.items():
        if isinstance(value, torch.nn.Module):
            state[name] = _module_on_cpu(value)
    if "device_" in state:
        state["device_"] = torch.device("cpu")
    return state


def _module_on_cpu(module):
    """``module`` on the CPU, copying only if it lives elsewhere."""
    parameter = next(module.parameters(), None)
    if parameter is None or parameter.device.type == "cpu":
        return module
    return copy.deepcopy(module).cpu()


def autocast(device, precision):
    """Mixed precision for a train step's forward pass: bfloat16 if ``precision`` says so.

    Train steps wrap their forward passes and losses in it and call
    ``backward`` outside, as PyTorch's automatic mixed precision advises.
    """
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bfloat16")
