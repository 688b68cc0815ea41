"""The Pub/Sub and Firestore emulators for a simulation: the running ones named by
``PUBSUB_EMULATOR_HOST`` / ``FIRESTORE_EMULATOR_HOST``, else fresh ones (stopped at the end)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator

from local import services

__all__ = ["emulators"]


@contextlib.contextmanager
def emulators() -> Iterator[None]:
    if os.environ.get("PUBSUB_EMULATOR_HOST") and os.environ.get("FIRESTORE_EMULATOR_HOST"):
        yield
        return
    with tempfile.TemporaryDirectory(prefix="sim-emulators-") as workdir:
        started = [services.pubsub_emulator(workdir), services.firestore_emulator(workdir)]
        services.start_all(started)
        saved = {k: os.environ.get(k) for s in started for k in s.env}
        try:
            for service in started:
                os.environ.update(service.env)
            yield
        finally:
            for service in started:
                service.stop()
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
