"""Tests for otcclient_detach.plan: one plan from the facts and rules.

The order of the steps (snapshot, os-stop, each detach, the wait,
os-start), the rules each detach rests on, and the second judgement
before a late write.
"""

import testtools
from tests.unit.test_rules import make_facts

from otcclient_detach import plan as plans
from otcclient_detach import render
from otcclient_detach import rules


def kinds(plan):
    return [step.kind for step in plan.steps]


class TestSteps(testtools.TestCase):

    def test_a_plain_detach_is_one_step(self):
        plan = plans.make([make_facts()], plans.Options())
        self.assertFalse(plan.refused)
        self.assertEqual([plans.DETACH], kinds(plan))
        self.assertEqual(['vol-0001'], [v.id for v in plan.volumes])

    def test_every_step_in_order(self):
        plan = plans.make([make_facts()], plans.Options(
            snapshot=True, stop_server=True, start_server=True))
        self.assertEqual([plans.SNAPSHOT, plans.STOP, plans.DETACH,
                          plans.WAIT, plans.START], kinds(plan))

    def test_a_stopped_ecs_is_not_stopped_or_started(self):
        plan = plans.make([make_facts(status='SHUTOFF')], plans.Options(
            stop_server=True, start_server=True))
        self.assertEqual([plans.DETACH, plans.WAIT], kinds(plan))

    def test_the_native_api_and_wait_add_the_wait(self):
        for options in (plans.Options(api=plans.NATIVE),
                        plans.Options(wait=True)):
            self.assertEqual([plans.DETACH, plans.WAIT],
                             kinds(plans.make([make_facts()], options)))

    def test_a_refused_plan_has_no_steps(self):
        plan = plans.make([make_facts(locked=True)], plans.Options())
        self.assertTrue(plan.refused)
        self.assertEqual((), plan.steps)

    def test_a_detach_rests_on_the_rules_that_passed_or_were_forced(self):
        plan = plans.make([make_facts(locked=True)],
                          plans.Options(force=True))
        rests_on = plan.steps[0].rests_on
        self.assertIn('locked', rests_on)
        self.assertIn('attached', rests_on)
        self.assertNotIn('guest-prepare', rests_on)  # a reminder only
        self.assertNotIn('snapshot-limit', rests_on)  # not judged

    def test_if_attached_leaves_out_what_is_not_attached(self):
        loose = make_facts(attached_to=[], volume_status='available')
        plan = plans.make([make_facts(), loose],
                          plans.Options(if_attached=True))
        self.assertFalse(plan.refused)
        self.assertEqual([loose.volume], list(plan.skipped))
        self.assertEqual(['vol-0001'], [v.id for v in plan.volumes])


class TestStartRefusal(testtools.TestCase):

    def test_the_system_disk_with_start_server(self):
        facts = make_facts(device='/dev/vda')
        plan = plans.make([facts], plans.Options(stop_server=True,
                                                 start_server=True))
        self.assertEqual((facts.volume,), plans.start_refusal(plan))

    def test_a_data_disk_or_no_start(self):
        plan = plans.make([make_facts()], plans.Options(
            stop_server=True, start_server=True))
        self.assertEqual((), plans.start_refusal(plan))
        plan = plans.make([make_facts(device='/dev/vda')],
                          plans.Options(stop_server=True))
        self.assertEqual((), plans.start_refusal(plan))


class TestRejudge(testtools.TestCase):
    """The second look before a late write judges every rule again."""

    def test_nothing_changed(self):
        self.assertEqual({}, plans.rejudge([make_facts()], plans.Options()))

    def test_started_meanwhile_refuses_the_system_disk(self):
        fresh = [make_facts(device='/dev/vda')]
        refused = plans.rejudge(fresh, plans.Options())
        self.assertEqual(['system-disk'],
                         [f.rule for f in refused['vol-0001']])

    def test_stopped_by_us_is_judged_as_it_is(self):
        fresh = [make_facts(status='SHUTOFF', device='/dev/vda')]
        self.assertEqual({}, plans.rejudge(
            fresh, plans.Options(stop_server=True)))

    def test_before_our_stop_judged_as_the_stopped_ecs(self):
        fresh = [make_facts(device='/dev/vda')]
        self.assertEqual({}, plans.rejudge(
            fresh, plans.Options(stop_server=True), will_stop=True))

    def test_started_meanwhile_without_a_stop_to_come(self):
        # The plan has no os-stop left (the ECS was stopped when
        # planned): the running ECS is judged as it is.
        fresh = [make_facts(device='/dev/vda')]
        refused = plans.rejudge(fresh, plans.Options(stop_server=True))
        self.assertEqual(['system-disk'],
                         [f.rule for f in refused['vol-0001']])

    def test_a_rule_that_did_not_apply_then_applies_now(self):
        # A stopped ECS has no OS rules; started meanwhile, it has.
        fresh = [make_facts(os_version='Slackware 14.2 64bit')]
        refused = plans.rejudge(fresh, plans.Options())
        self.assertEqual(['os-supported'],
                         [f.rule for f in refused['vol-0001']])

    def test_force_still_lifts_what_it_lifts(self):
        fresh = [make_facts(locked=True)]
        self.assertEqual({}, plans.rejudge(fresh, plans.Options(force=True)))
        fresh = [make_facts(volume_status='detaching')]
        refused = plans.rejudge(fresh, plans.Options(force=True))
        self.assertEqual([rules.REFUSE],
                         [f.verdict for f in refused['vol-0001']])


class TestFreshFor(testtools.TestCase):

    def test_a_few_seconds_and_the_report_says_so(self):
        self.assertGreater(plans.FRESH_FOR, 0)
        self.assertLessEqual(plans.FRESH_FOR, 10)
        plan = plans.make([make_facts()], plans.Options())
        rows = render.report_rows(plan)
        self.assertEqual(('data-1', 'plan', 'step-1'), tuple(rows[-1][:3]))
        self.assertIn('older than %g s' % plans.FRESH_FOR, rows[-1][3])
