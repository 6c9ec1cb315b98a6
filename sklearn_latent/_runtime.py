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
"""

import inspect
import signal
import threading
from contextlib import contextmanager
from functools import cache

from torch.overrides import TorchFunctionMode

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
