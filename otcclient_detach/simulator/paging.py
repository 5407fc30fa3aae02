"""Paging of list calls, the way nova and cinder do it.

Both cut a list at ``limit`` (at most the configured maximum, nova's
``[api]max_limit`` and cinder's ``osapi_max_limit``, 1000 by default;
the scenario's ``page_size``) and add ``<collection>_links`` with a
``rel: next`` link when the page is full.  The next link repeats the
request's own URL and parameters with ``marker`` set to the last item's
ID.
"""

from urllib.parse import urlencode

from otcclient_detach.simulator.http_util import HTTPError

#: The largest ``limit`` of EVS's native disk list.
EVS_MAX_LIMIT = 1000


def after_marker(request, items, missing):
    """The items after the request's ``marker``; ``missing`` if absent.

    ``missing`` is the HTTPError to raise: nova answers 400, cinder 404.
    """
    marker = request.args.get('marker')
    if not marker:
        return items
    ids = [item.id for item in items]
    if marker not in ids:
        raise missing
    return items[ids.index(marker) + 1:]


def offset_of(request):
    """The ``offset`` asked for (items skipped), 0 if none; 400 if bad."""
    raw = request.args.get('offset')
    if raw is None or raw == '':
        return 0
    try:
        offset = int(raw)
    except ValueError:
        raise HTTPError(400, 'offset param must be an integer')
    if offset < 0:
        raise HTTPError(400, 'offset param must not be negative')
    return offset


def limit_of(request, max_limit, minimum=0):
    """The page size asked for, capped at ``max_limit``; 400 if bad.

    nova and cinder take 0; EVS's native list wants at least 1.
    """
    raw = request.args.get('limit')
    if raw is None or raw == '':
        return max_limit
    try:
        limit = int(raw)
    except ValueError:
        raise HTTPError(400, 'limit param must be an integer')
    if limit < minimum:
        raise HTTPError(400, 'limit param must be at least %d' % minimum)
    return min(limit, max_limit)


def page(request, items, collection, max_limit):
    """Return (items of this page, {"<collection>_links": [...]} or {})."""
    limit = limit_of(request, max_limit)
    items = items[:limit]
    if not items or len(items) < limit:
        return items, {}
    return items, next_link(request, items[-1].id, collection)


def next_link(request, marker, collection, drop=()):
    """``{"<collection>_links": [{"rel": "next", ...}]}`` after ``marker``.

    Like nova and cinder: the request's own parameters (but ``drop``),
    the new marker.
    """
    args = [(k, v) for k, v in request.args.items(multi=True)
            if k != 'marker' and k not in drop]
    args.append(('marker', marker))
    href = '%s?%s' % (request.base_url, urlencode(args))
    return {collection + '_links': [{'rel': 'next', 'href': href}]}
