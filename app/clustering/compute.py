"""How the clustering code uses the CPU: one BLAS/OpenMP thread, one call at a time."""

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from threadpoolctl import ThreadpoolController

_P = ParamSpec("_P")
_R = TypeVar("_R")
_THREADPOOLS = ThreadpoolController()
_THREADPOOLS_LOCK = threading.RLock()


@contextmanager
def one_thread() -> Iterator[None]:
    """Run the block with BLAS and OpenMP limited to one thread, one block at a time.

    These problems are small (n ≤ a few thousand): with several threads, BLAS and OpenMP
    spin-wait for each other and, on a 2-core server also busy with web requests, a
    1,000-text call measured 2–10× slower than single-threaded. The limit is process-wide,
    so calls take turns (clustering is a rare, facilitator-triggered action, and embedding
    new contributions in the background takes a few milliseconds per batch).
    """
    with _THREADPOOLS_LOCK, _THREADPOOLS.limit(limits=1):
        yield


def single_threaded(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """Decorator: the function runs inside `one_thread()`."""

    @functools.wraps(function)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with one_thread():
            return function(*args, **kwargs)

    return wrapper
