"""Compare a JSON answer with OTC's example response and response table.

:func:`differences` walks the simulator's answer beside OTC's example:
a field of the example the answer lacks is ``missing``; a field of the
answer that neither the example nor the page's response tables name is
``undocumented``; a field whose JSON type differs from the example's
(or, for a field only the tables name, from the table's type) is
``type``.  In a list, a key that every item of the example has is
``missing`` from an item without it; one that only some have is
``missing`` when no item of the answer has it.  Objects named in
``maps`` are maps (their keys are data): each value is compared with
the example's values.  A ``null`` in the
example shows no type, so any value matches it; OTC's tables have no
null type (their own examples give ``null`` for fields the table types
"String", e.g. ``OS-EXT-STS:task_state`` of "Querying Details About an
ECS"), so a ``null`` matches any table type.
"""

import collections

Difference = collections.namedtuple('Difference', 'kind path detail')

_TABLE_TYPES = (('map', 'object'), ('dict', 'object'), ('object', 'object'),
                ('array', 'array'), ('list', 'array'),
                ('string', 'string'), ('boolean', 'boolean'),
                ('bool', 'boolean'), ('integer', 'integer'),
                ('int', 'integer'), ('long', 'integer'),
                ('float', 'number'), ('double', 'number'),
                ('number', 'number'))


def json_type(value):
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'boolean'
    if isinstance(value, int):
        return 'integer'
    if isinstance(value, float):
        return 'number'
    if isinstance(value, str):
        return 'string'
    if isinstance(value, list):
        return 'array'
    return 'object'


def table_types(otc_types):
    """The JSON types of a table's "Type" cells ("String", "Map<...>")."""
    out = set()
    for text in otc_types:
        low = text.lower()
        for word, jtype in _TABLE_TYPES:
            if low.startswith(word):
                out.add(jtype)
                break
    return out


def _same_type(documented, actual):
    return documented == actual or (documented, actual) == (
        'number', 'integer')


def _merged(items):
    """One example item from a list's items, and the keys all have."""
    dicts = [i for i in items if isinstance(i, dict)]
    if not dicts:
        return (items[0] if items else None), set()
    merged = {}
    for item in dicts:
        for key, value in item.items():
            if merged.get(key) is None:
                merged[key] = value
    return merged, set.intersection(*(set(d) for d in dicts))


class _Walk(object):

    def __init__(self, fields, maps):
        self.fields = fields
        self.maps = set(maps)
        self.found = []

    def add(self, kind, path, detail=''):
        self.found.append(Difference(kind, path, detail))

    def value(self, doc, sim, path, name_path):
        if doc is None:
            return
        dtype, stype = json_type(doc), json_type(sim)
        if not _same_type(dtype, stype):
            self.add('type', path, '%s, OTC: %s' % (stype, dtype))
        elif dtype == 'object' and name_path in self.maps:
            example, _ = _merged(list(doc.values()))
            for key, item in sim.items():
                self.value(example, item, '%s.*' % path, name_path)
        elif dtype == 'object':
            self.obj(doc, sim, doc.keys(), path, name_path)
        elif dtype == 'array' and doc:
            example, required = _merged(doc)
            if isinstance(example, dict) and sim and all(
                    isinstance(i, dict) for i in sim):
                # a key some items of the example have, none of ours
                for key in sorted(set(example) - required - set().union(
                        *(set(i) for i in sim))):
                    self.add('missing', '%s[].%s' % (path, key))
            for item in sim:
                if isinstance(example, dict) and isinstance(item, dict):
                    self.obj(example, item, required, path + '[]',
                             name_path)
                else:
                    self.value(example, item, path + '[]', name_path)

    def obj(self, doc, sim, required, path, name_path):
        prefix = path + '.' if path else ''
        for key in sorted(required):
            if key not in sim:
                self.add('missing', prefix + key)
        for key in sorted(sim):
            child = (name_path + '.' if name_path else '') + key
            if key in doc:
                self.value(doc[key], sim[key], prefix + key, child)
            elif key in self.fields:
                types = table_types(self.fields[key])
                actual = json_type(sim[key])
                if types and actual not in types and actual != 'null' \
                        and not (actual == 'integer' and 'number' in types):
                    self.add('type', prefix + key, '%s, OTC table: %s' % (
                        actual, '/'.join(self.fields[key])))
            else:
                self.add('undocumented', prefix + key)


def differences(example, fields, answer, maps=()):
    """The :class:`Difference` list of ``answer`` against OTC's page."""
    walk = _Walk(fields, maps)
    walk.value(example, answer, '', '')
    return walk.found
