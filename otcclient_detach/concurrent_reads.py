"""Run independent reads side by side on the CLI's session.

At 50-150 ms per request, reads that do not depend on each other (the
server lookup, the volume lookups, version discovery) cost one round trip
together instead of one each.  keystoneauth sessions are used from
threads already (operations sends its DELETEs so).

Results come back in the order the calls were given, whatever order they
finished in; if any call raised, the first of them (in that same order)
is raised after every call has ended, so no read is left running and the
error a user sees does not depend on timing.  Each call runs in a copy
of the caller's context (so cloud.deadline applies to it).
"""

import concurrent.futures
import contextvars

#: Reads in flight at once: enough for a server, its discovery and a few
#: volumes; few enough not to trip OTC's flow control.
MAX_PARALLEL = 6


def run(calls):
    """Call each of ``calls`` (no arguments) concurrently; their results.

    A single call runs in this thread: nothing to overlap.
    """
    calls = list(calls)
    if len(calls) <= 1:
        return [call() for call in calls]
    with concurrent.futures.ThreadPoolExecutor(
            min(MAX_PARALLEL, len(calls))) as pool:
        # Each read runs in a copy of the caller's context: a deadline
        # set by the caller (cloud.deadline) holds in the threads too.
        futures = [pool.submit(contextvars.copy_context().run, call)
                   for call in calls]
        concurrent.futures.wait(futures)
    for future in futures:
        error = future.exception()
        if error is not None:
            raise error
    return [future.result() for future in futures]
