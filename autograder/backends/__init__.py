"""Isolation backends: how the zygote that runs student code is started, and what that isolation is worth.

One file per backend; `current()` is the first of BACKENDS that can run on
this machine: bubblewrap, else (as root, with the student's user) the
unprivileged user, else the grader's own user. Nothing else of the engine asks
which backend it is: it asks the backend (`isolates_host`, `describe`,
`disk_words`, `wrap`).
"""
import functools

from autograder.backends.base import Backend
from autograder.backends.bubblewrap import Bubblewrap
from autograder.backends.process import Process
from autograder.backends.unprivileged import Unprivileged

BACKENDS: "tuple[Backend, ...]" = (Bubblewrap(), Unprivileged(), Process())


@functools.cache
def current() -> Backend:
    """The backend this machine uses (the process backend is always available)."""
    return next(backend for backend in BACKENDS if backend.available())


def named(name: str) -> Backend:
    """The backend a report calls `name` (an older report's, too): to describe it."""
    return next((b for b in BACKENDS if b.name == name), BACKENDS[-1])
