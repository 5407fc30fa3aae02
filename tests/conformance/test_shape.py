"""The judge itself: what :func:`shape.differences` reports."""

import testtools
from tests.conformance import shape


def found(example, answer, fields=None, maps=()):
    return sorted((d.kind, d.path) for d in shape.differences(
        example, fields or {}, answer, maps))


class TestDifferences(testtools.TestCase):

    def test_same_shape_other_values(self):
        self.assertEqual([], found({'a': {'b': '1', 'c': [1]}},
                                   {'a': {'b': 'x', 'c': [2, 3]}}))

    def test_missing_undocumented_and_type(self):
        self.assertEqual(
            [('missing', 'server.flavor.id'),
             ('type', 'server.flavor.ram'),
             ('undocumented', 'server.extra')],
            found({'server': {'flavor': {'id': 's3', 'ram': '1024'}}},
                  {'server': {'flavor': {'ram': 1024}, 'extra': 0}}))

    def test_tables_document_and_type_a_field(self):
        fields = {'locked': ['Boolean'], 'fault': ['Object']}
        self.assertEqual([], found({}, {'locked': True, 'fault': None},
                                   fields))
        self.assertEqual([('type', 'locked')],
                         found({}, {'locked': 'false'}, fields))

    def test_null_example_shows_no_type(self):
        self.assertEqual([], found({'a': None}, {'a': {'x': 1}}))

    def test_list_items_and_keys_only_some_have(self):
        links = [{'rel': 'self', 'href': 'u'},
                 {'rel': 'describedby', 'href': 'd', 'type': 'text/html'}]
        self.assertEqual([('missing', 'links[].type')],
                         found({'links': links},
                               {'links': [{'rel': 'self', 'href': 'v'}]}))
        self.assertEqual([], found({'links': links}, {'links': [
            {'rel': 'self', 'href': 'v'},
            {'rel': 'describedby', 'href': 'd', 'type': 'text/html'}]}))
        self.assertEqual([('missing', 'links[].rel')], found(
            {'links': links}, {'links': [{'href': 'v', 'type': 'a'}]}))

    def test_maps_compare_values_not_keys(self):
        example = {'addresses': {'net-a': [{'addr': 'x', 'version': '4'}]}}
        answer = {'addresses': {'net-b': [{'addr': 'y', 'version': 4}]}}
        self.assertEqual([('type', 'addresses.*[].version')],
                         found(example, answer, maps=['addresses']))
        self.assertEqual([('missing', 'addresses.net-a'),
                          ('undocumented', 'addresses.net-b')],
                         found(example, answer))

    def test_table_types(self):
        self.assertEqual({'object'}, shape.table_types(
            ['Map<String, Array of objects>']))
        self.assertEqual({'array', 'string'}, shape.table_types(
            ['Array of strings', 'String']))
