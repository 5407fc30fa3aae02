"""Tests for otcclient_detach.record: one record of every write."""

import testtools
from tests.unit import fakes

from otcclient_detach import record

Kind, State = record.Kind, record.State


class TestRecord(testtools.TestCase):

    def setUp(self):
        super(TestRecord, self).setUp()
        self.clock = fakes.FakeClock()
        self.told = []
        self.record = record.Record(clock=self.clock.clock,
                                    listener=self.told.append)
        self.volume = fakes.model_volume('vol-1')

    def test_an_entry_from_not_sent_to_confirmed(self):
        entry = self.record.add(Kind.DETACH, self.volume)
        self.assertEqual(State.NOT_SENT, entry.state)
        self.assertFalse(entry.sent)
        self.assertTrue(self.record.sending(entry))
        self.assertEqual(State.SENT, entry.state)
        self.clock.sleep(2.5)
        self.record.update(entry, State.CONFIRMED)
        self.assertTrue(entry.sent)
        self.assertEqual([entry], self.told)
        self.assertEqual(2.5, self.record.seconds(entry))
        self.assertIs(entry, self.record.detach_of('vol-1'))
        self.assertIsNone(self.record.detach_of('vol-2'))

    def test_update_without_telling(self):
        entry = self.record.add(Kind.SNAPSHOT, self.volume)
        self.record.update(entry, State.ACCEPTED, tell=False,
                           snapshot_id='s-1')
        self.assertEqual([], self.told)
        self.assertEqual('s-1', entry.snapshot_id)

    def test_nothing_is_sent_after_cancel(self):
        entry = self.record.add(Kind.DETACH, self.volume)
        self.record.cancel()
        self.assertFalse(self.record.sending(entry))
        self.assertEqual(State.NOT_SENT, entry.state)
        self.assertEqual('interrupted', entry.why)
        self.assertFalse(entry.sent)

    def test_stopped_by_us(self):
        self.assertFalse(self.record.stopped_by_us())
        stop = self.record.add(Kind.STOP, 'server')
        self.assertFalse(self.record.stopped_by_us())  # not sent yet
        for state, stopped in ((State.SENT, True), (State.ACCEPTED, True),
                               (State.CONFIRMED, True),
                               (State.UNKNOWN, True),
                               (State.REFUSED, False)):
            self.record.update(stop, state)
            self.assertEqual(stopped, self.record.stopped_by_us(), state)

    def test_queries_by_kind(self):
        first = self.record.add(Kind.DETACH, self.volume)
        second = self.record.add(Kind.DETACH, fakes.model_volume('vol-2'))
        self.record.add(Kind.START, 'server')
        self.assertEqual([first, second], self.record.of(Kind.DETACH))
        self.assertIs(second, self.record.last(Kind.DETACH))
        self.assertIsNone(self.record.last(Kind.SNAPSHOT))
