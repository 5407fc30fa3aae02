"""Deterministic identifiers, so tests can predict them from names."""

import uuid

# Fixed namespace: the same scenario always yields the same IDs.
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, 'urn:otc-detach-sim')


def sim_id(kind, name, occurrence=1):
    """Return the UUID string the simulator gives to ``kind`` ``name``.

    ``kind`` is ``server``, ``volume``, ``image`` or ``attachment``.
    Objects sharing a name (e.g. two volumes called ``dup-disk``) are
    told apart by ``occurrence``, counted from 1 in scenario order.
    """
    key = '%s:%s' % (kind, name)
    if occurrence > 1:
        key += ':%d' % occurrence
    return str(uuid.uuid5(NAMESPACE, key))


def hex_id(kind, name):
    """Keystone-style 32 hex digit ID (projects, users, domains)."""
    return uuid.uuid5(NAMESPACE, '%s:%s' % (kind, name)).hex
