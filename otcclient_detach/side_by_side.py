"""Run independent requests side by side on the CLI's session.

At 50-150 ms per request, reads that do not depend on each other (the
server lookup, the volume lookups, version discovery) cost one round trip
together instead of one each; the DELETEs of a batch leave together too
(operations).  keystoneauth sessions are safe to use from threads.

Results come back in the order the calls were given, whatever order they
finished in; if any call raised, the first of them (in that same order)
is raised after every call has ended, so no request is left running and
the error a user sees does not depend on timing.  Each call runs in a copy
of the caller's context (so cloud.deadline applies to it).

The calls run in daemon threads, and the caller waits for them in a way
Ctrl-C interrupts: a user who stops the command does not wait for a
request that hangs.  A read left behind changes nothing; a write on the
wire cannot be called back anyway (operations tells which were sent).
"""

import contextvars
import queue
import threading

#: Requests in flight at once: enough for a server, its discovery and a
#: few volumes; few enough not to trip OTC's flow control.
MAX_PARALLEL = 6


def run(calls, limit=MAX_PARALLEL):
    """Call each of ``calls`` (no arguments) concurrently; their results.

    At most ``limit`` at a time.  A single call runs in this thread:
    nothing to overlap.
    """
    calls = list(calls)
    if len(calls) <= 1:
        return [call() for call in calls]
    outcomes = [None] * len(calls)
    todo = queue.SimpleQueue()
    for index, call in enumerate(calls):
        # Each call runs in a copy of the caller's context: a deadline
        # set by the caller (cloud.deadline) holds in the threads too.
        todo.put((index, contextvars.copy_context(), call))
    ended = threading.Semaphore(0)

    def work():
        while True:
            try:
                index, context, call = todo.get_nowait()
            except queue.Empty:
                return
            try:
                outcomes[index] = (context.run(call), None)
            except BaseException as e:  # raised in the caller's thread
                outcomes[index] = (None, e)
            finally:
                ended.release()

    for _ in range(min(limit, len(calls))):
        threading.Thread(target=work, name='concurrent-read',
                         daemon=True).start()
    for _ in calls:
        ended.acquire()
    for _, error in outcomes:
        if error is not None:
            raise error
    return [result for result, _ in outcomes]
