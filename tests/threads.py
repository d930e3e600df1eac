"""Calls made on several threads at once, as concurrent requests would make them."""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence


def threads_at_once(target: Callable, calls: Sequence[tuple], *, timeout: float = 60) -> tuple[list, list]:
    """Run `target(*args)` for each args tuple, each on its own thread, all released together.

    Each thread closes its own database connection. Returns (results, errors) in completion order.
    """
    from django.db import connection

    results, errors, start = [], [], threading.Barrier(len(calls))

    def run(args):
        try:
            start.wait(10)
            results.append(target(*args))
        except Exception as error:  # collected: the caller asserts on them
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(args,)) for args in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return results, errors
