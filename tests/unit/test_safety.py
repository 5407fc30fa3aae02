"""The safety property, over a generated table.

The command runs in python-openstackclient's fake application over a
:class:`tests.unit.fakes.FakeCloud` (as in test_command.py) for each
combination of server status x task state x lock x root device x the
disk's device x OS string x OS type x SCSI/VBD x where the disk is
attached x flags, drawn by hypothesis (and, for the system disk of a
running ECS, as an explicit product).  The verdict is computed here from
OTC's rules as its documentation states them (doc/source/rules.rst), not
with the code under test:

* a DELETE is sent iff the disk is attached to the server and either
  every rule passes or --force was given (never with --dry-run, never a
  forced detach of a system disk);
* the system disk of an ECS that is ACTIVE when the DELETE is sent is
  never detached, not even with --force, when any source the command
  reads (the volume's attachment, EVS's disk list, nova's attachment
  list) names it at root_device_name, whatever the others say (nothing,
  '', 'sda', the Xen spelling /dev/xvda, another device); where no
  source can tell, a disk that may be the system disk needs --force;
* the OS type: confirmed sources (the system disk's __os_type and the
  type its __os_version implies) outrank the server's os_type metadata,
  and where they disagree the ECS is taken for Windows;
* when rule attached fails, no DELETE is sent, --force or not;
* system disk unknown (no root_device_name, and OTC's native API does not
  answer) => refuse: a disk that may be the system disk (bootable, image
  metadata, a ``...da`` device) is treated as one, and the OS cannot be
  confirmed from the system disk;
* encrypted with a key that is not enabled (or KMS cannot be asked) =>
  refuse, on a running or stopped ECS;
* the verdict does not depend on whether EVS's disk list of the server
  (where the system disk and its OS are read first) answers, is refused,
  broken, or names no disk at root_device_name: the command then asks
  nova's attachment list, as without the list.

tests/functional/test_bad_input.py samples the same property with the
real CLI against the simulator.  The retry policy (writes are sent once)
is checked at the end.
"""

import collections
import io
import itertools
import re
from unittest import mock

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from keystoneauth1 import exceptions as ks_exceptions
import fixtures
from openstackclient.tests.unit import utils
from osc_lib import exceptions
import testtools
from tests.unit import fakes

from otcclient_detach import cloud
from otcclient_detach import command
from otcclient_detach import encryption
from otcclient_detach import errors
from otcclient_detach import facts
from otcclient_detach import plan as plans
from otcclient_detach import process
from otcclient_detach import wait
from otcclient_detach import workflow

REAL_POLLER = wait.Poller

STATUSES = ('ACTIVE', 'SHUTOFF', 'ERROR', 'BUILD', 'REBOOT', 'SHELVED',
            'PAUSED', 'VERIFY_RESIZE')
TASKS = (None, 'powering-off', 'rebooting')
LOCKS = (False, True, None)  # None: the cloud did not say (< 2.9)
ROOTS = ('/dev/vda', '/dev/sda', '/dev/xvda', None)
DEVICES = ('/dev/vda', '/dev/sda', '/dev/xvda', '/dev/vdb', '/dev/sdc')
#: On OTC's lists (IMS "External Image File Formats and Supported OSs"
#: and the seed's Table 1) or not.
LISTED = (fakes.LINUX_OS, fakes.WINDOWS_OS, 'Ubuntu 18.04 server 64bit',
          'Windows Server 2019 Datacenter 64bit')
UNLISTED = (fakes.UNLISTED_OS, 'Windows 95', 'OpenBSD 7.3')
OS_STRINGS = LISTED + UNLISTED + (None,)
OS_TYPES = ('Linux', 'Windows', None)
WHERE = ('here', 'elsewhere', 'nowhere')
FALLBACK_ROOTS = ('/dev/sda', '/dev/vda')
#: The disk's KMS key: None (not encrypted), a key_state, or no KMS.
KEYS = (None, '2', '3', '4', 'no-kms')
KEY_ID = '0d0466b0-e727-4d9c-b35d-f84bb474a37f'
#: EVS's disk list of the server: answered, refused, broken, or naming no
#: disk at root_device_name.
DISK_LISTS = ('ok', 'refused', 'broken', 'empty')
DISK_LIST_ANSWERS = {
    'refused': (404, fakes.otc_error('EVS.0001', 'Not Found')),
    'broken': (200, {'volumes': 'none'}),
    'empty': (200, {'volumes': [], 'count': 0}),
}
MAYBE_ROOT = re.compile(r'^/dev/(s|v|xv|h)da$')

#: A source's device for the disk as the cloud has it (no disagreement).
AS_IS = 'as-is'
#: What one source may say instead: nothing, empty, without /dev/, the
#: Xen spelling, another device.
TOLD_DEVICES = (AS_IS, None, '', 'sda', '/dev/xvda', '/dev/vdb')
#: The server's os_type metadata (a hint anybody can edit): the same as
#: the system disk's __os_type, or another word.
HINTS = (AS_IS, 'Linux', 'Windows', None)
#: Xen ECSs show /dev/sda in the API while the guest has /dev/xvda (ECS
#: user guide): two spellings of one device prove nothing either way.
SAME_DISK = {'/dev/xvda': '/dev/sda', '/dev/hda': '/dev/sda'}

Case = collections.namedtuple(
    'Case', 'status task locked root device os_string os_type scsi where '
            'force dry_run stop_server api force_detach key disk_list '
            'hint vol_says evs_says nova_says',
    defaults=(None, 'ok', AS_IS, AS_IS, AS_IS, AS_IS))


def _dev(text):
    """A device as /dev/..., None for none."""
    text = (text or '').strip()
    if not text:
        return None
    return text if text.startswith('/dev/') else '/dev/' + text


def sources_read(case):
    """The devices the sources the command reads name for the disk.

    The volume's own attachment always; EVS's disk list when it answers;
    nova's attachment list too (it is read whenever EVS's list does not
    name exactly one disk at root_device_name, and the cases below never
    need it otherwise).
    """
    told = [case.vol_says, case.nova_says]
    if case.disk_list == 'ok':
        told.append(case.evs_says)
    return [case.device if t == AS_IS else t for t in told]


def system_disk(case):
    """'strong', 'weak' or None: is the disk the system disk, and how sure.

    Any source that names the root device makes it the system disk; a
    source naming another device (not the same disk spelt the Xen way)
    makes it a data disk when none names the root; where nothing tells,
    a disk that may be the system disk (bootable, image metadata, no
    device, a ...da device) counts as one, but only weakly (--force).
    """
    if case.where != 'here':
        return None
    devices = [_dev(d) for d in sources_read(case)]
    target_is_root = case.device in ((case.root,) if case.root
                                     else FALLBACK_ROOTS)
    if case.root:
        root = _dev(case.root)
        if root in devices:
            return 'strong'
        if any(d and SAME_DISK.get(d, d) != SAME_DISK.get(root, root)
               for d in devices):
            return None
    named = [d for d in devices if d]
    if target_is_root or not named or \
            any(MAYBE_ROOT.match(d) for d in named):
        return 'weak'
    return None


def is_windows(case):
    """Confirmed sources outrank the hint; if they disagree, Windows.

    The OS is confirmed when the system disk is known (root_device_name)
    and carries __os_version; then its __os_type and the type its
    __os_version implies count, else only the server's metadata hint.
    """
    hint = case.os_type if case.hint == AS_IS else case.hint
    if case.root and case.os_string:
        return case.os_type == 'Windows' or \
            case.os_string.startswith('Windows')
    return hint == 'Windows'


def expected(case):
    """(DELETE expected?, is it the system disk?) by OTC's rules."""
    attached = case.where == 'here'
    system = system_disk(case)
    status = case.status
    if case.stop_server and status == 'ACTIVE':
        status = 'SHUTOFF'  # stopped before the detach
    running = status == 'ACTIVE'
    windows = is_windows(case)
    passes = [status in ('ACTIVE', 'SHUTOFF'), not case.task,
              case.locked is not True, case.key in (None, '2')]
    # Refusals --force does not lift: the cloud refuses a root device of a
    # running server itself.
    hard = [not (running and system == 'strong')]
    if running:
        # System disk unknown => the OS is not confirmed either.
        passes += [not system, case.os_string in LISTED and bool(case.root),
                   not (windows and case.scsi)]
    if case.force_detach and running and windows and case.scsi:
        passes.append(False)  # the data-loss path needs --force here
    send = attached and all(hard) and (case.force or all(passes))
    if case.dry_run or (case.force_detach and system):
        send = False
    return send, bool(system)


#: Every dimension and its values.
DIMENSIONS = collections.OrderedDict([
    ('status', st.sampled_from(STATUSES)),
    ('task', st.sampled_from(TASKS)),
    ('locked', st.sampled_from(LOCKS)),
    ('root', st.sampled_from(ROOTS)),
    ('device', st.sampled_from(DEVICES)),
    ('os_string', st.sampled_from(OS_STRINGS)),
    ('os_type', st.sampled_from(OS_TYPES)),
    ('scsi', st.booleans()),
    ('where', st.sampled_from(WHERE)),
    ('force', st.booleans()),
    ('dry_run', st.booleans()),
    ('stop_server', st.booleans()),
    ('api', st.sampled_from(('nova', 'native'))),
    ('force_detach', st.booleans()),
    ('key', st.sampled_from(KEYS)),
    ('disk_list', st.sampled_from(DISK_LISTS)),
    ('hint', st.sampled_from(HINTS)),
])
#: A detach that every rule allows: a data disk of a running Linux ECS.
PASSING = Case('ACTIVE', None, False, '/dev/vda', '/dev/vdb',
               fakes.LINUX_OS, 'Linux', False, 'here', False, False, False,
               'nova', False, None)
#: More of them, each one step from a different rule.
PASSING_CASES = (
    PASSING,
    # a VBD disk of a running Windows ECS (SCSI would be refused)
    PASSING._replace(root='/dev/sda', device='/dev/sdc',
                     os_string=fakes.WINDOWS_OS, os_type='Windows'),
    # the system disk of a stopped ECS
    PASSING._replace(status='SHUTOFF', device='/dev/vda'),
    # the system disk of a running ECS, stopped first
    PASSING._replace(device='/dev/vda', stop_server=True),
    # an unlisted OS, no root_device_name, the native API, forced detach
    # of a data disk
    PASSING._replace(status='SHUTOFF', root=None, device='/dev/sdc',
                     os_string=fakes.UNLISTED_OS, os_type=None,
                     api='native', force_detach=True),
    # an encrypted disk whose key is enabled
    PASSING._replace(key='2'),
)


@st.composite
def near_passing(draw):
    """One of PASSING_CASES with one to three dimensions changed.

    Random states seldom pass every rule; these sit next to the border,
    where one rule alone decides.
    """
    case = draw(st.sampled_from(PASSING_CASES))
    for name in draw(st.lists(st.sampled_from(list(DIMENSIONS)),
                              min_size=1, max_size=3, unique=True)):
        case = case._replace(**{name: draw(DIMENSIONS[name])})
    return case


def valid(case):
    """Options the parser accepts (the rest are usage errors)."""
    return not (case.dry_run and case.stop_server) and \
        not (case.force_detach and case.api != 'native')


cases = st.one_of(near_passing(),
                  st.builds(Case, **DIMENSIONS)).filter(valid)


@st.composite
def disagreeing(draw):
    """The system disk, while its sources disagree on its device.

    The volume's own attachment may say nothing, '', 'sda', the Xen
    spelling or another device while EVS's list and/or nova's list name
    it at root_device_name, and the other way round; the OS sources may
    disagree too (__os_version Windows without __os_type against an
    os_type=Linux hint).
    """
    root = draw(st.sampled_from(('/dev/sda', '/dev/vda')))
    case = PASSING._replace(root=root, device=root, **{
        name: draw(DIMENSIONS[name]) for name in (
            'status', 'force', 'stop_server', 'api', 'disk_list',
            'os_string', 'os_type', 'scsi', 'hint')})
    told = st.sampled_from(TOLD_DEVICES)
    return case._replace(vol_says=draw(told), evs_says=draw(told),
                         nova_says=draw(told))


#: Some source the command reads names the root device.
named_by_a_source = disagreeing().filter(
    lambda case: system_disk(case) == 'strong')


class SafetyTestCase(utils.TestCommand):

    def build(self, case):
        """A FakeCloud in the state of ``case``; the disk is 'disk'."""
        cloud_ = fakes.FakeCloud()
        os_meta = {}
        hint = case.os_type if case.hint == AS_IS else case.hint
        if hint:
            os_meta['os_type'] = hint
        server = cloud_.add_server(
            'ecs', status=case.status, task_state=case.task,
            locked=case.locked, root_device_name=case.root,
            metadata=os_meta)
        other = cloud_.add_server('other')
        roots = (case.root,) if case.root else FALLBACK_ROOTS
        os_kwargs = {'os_version': case.os_string,
                     'os_type': case.os_type, 'bootable': True}
        target_is_root = case.where == 'here' and case.device in roots
        if not target_is_root:
            # The system disk, which tells the OS.
            cloud_.add_volume('ecs-sys', server, roots[-1], **os_kwargs)
        disk_kwargs = dict(os_kwargs) if target_is_root else {}
        if case.scsi:
            disk_kwargs['metadata'] = {'hw:passthrough': 'true'}
        attached_to = {'here': server, 'elsewhere': other}.get(case.where)
        device = case.device
        if case.where == 'here' and not target_is_root and \
                device == roots[-1]:
            device = '/dev/vdz'  # taken by the system disk
        if case.key:
            disk_kwargs['metadata'] = dict(disk_kwargs.get('metadata', {}),
                                           __system__encrypted='1',
                                           __system__cmkid=KEY_ID)
        disk = cloud_.add_volume('disk', attached_to, device, **disk_kwargs)
        for source in ('vol', 'evs', 'nova'):
            said = getattr(case, source + '_says')
            if said != AS_IS:
                cloud_.tell_device({'vol': 'volume'}.get(source, source),
                                   disk['id'], said)
        if case.disk_list in DISK_LIST_ANSWERS:
            cloud_.evs.route('GET', '/cloudvolumes/detail',
                             DISK_LIST_ANSWERS[case.disk_list])
        self.watch(cloud_, server)
        cloud_.kms = fakes.FakeProxy('kms', 'http://kms.example/v1.0/p',
                                     cloud_.log)
        cloud_.kms.route('POST', '/kms/describe-key', body={'key_info': {
            'key_id': KEY_ID, 'key_state': case.key, 'key_alias': 'k'}})
        return cloud_, server, disk

    def watch(self, cloud_, server):
        """Record the server's status at every DELETE; stop at once."""
        cloud_.status_at_delete = []

        def recorder(real):
            def delete(call, server_id, volume_id):
                cloud_.status_at_delete.append(
                    (volume_id, cloud_.servers[server_id]['status']))
                return real(call, server_id, volume_id)
            return delete

        cloud_.compute.route('DELETE', re.compile(
            r'/servers/([^/]+)/os-volume_attachments/([^/]+)'),
            recorder(cloud_._delete_attachment))
        cloud_.ecs.route('DELETE', re.compile(
            r'/cloudservers/([^/]+)/detachvolume/([^/]+)'),
            recorder(cloud_._native_detach))

        def act(call, server_id):
            body = cloud_.servers[server_id]
            if 'os-stop' in (call.json or {}):
                body['status'] = 'SHUTOFF'
            else:
                body['status'] = 'ACTIVE'
            body['OS-EXT-STS:task_state'] = None
            return 202, ''

        # os-stop and os-start take effect at once, task and all.
        cloud_.compute.route('POST', re.compile(r'/servers/([^/]+)/action'),
                             act)

    def run_case(self, case):
        """Run the command; return (the FakeCloud, the disk, status)."""
        cloud_, server, disk = self.build(case)
        self.app.client_manager.sdk_connection = cloud_.connection
        self.app.stderr = io.StringIO()
        self.app.stdout = utils.fakes.FakeStdout()
        cmd = command.DetachVolume(self.app, None)
        clock = fakes.FakeClock()
        argv = []
        for flag in ('force', 'dry_run', 'stop_server', 'force_detach'):
            if getattr(case, flag):
                argv.append('--' + flag.replace('_', '-'))
        argv += ['--api', case.api, 'ecs', 'disk']
        parsed = self.check_parser(cmd, argv, [])
        if case.key == 'no-kms':
            kms = mock.Mock(side_effect=encryption.NoEndpoint('no kms'))
        else:
            kms = mock.Mock(return_value=cloud_.kms)
        with mock.patch('otcclient_detach.encryption.kms_adapter', kms), \
                mock.patch('otcclient_detach.wait.Poller',
                           lambda timeout, **kw: REAL_POLLER(
                               timeout, clock=clock.clock,
                               sleep=clock.sleep)), \
                mock.patch('otcclient_detach.detach.native_endpoint',
                           return_value=cloud_.ecs), \
                mock.patch('otcclient_detach.reads.evs_native_endpoint',
                           return_value=cloud_.evs):
            try:
                status = cmd.run(parsed)
            except exceptions.CommandError:
                status = 1
        return cloud_, disk, status

    def check(self, case):
        cloud_, disk, status = self.run_case(case)
        send, system = expected(case)
        deleted = [vid for vid, _ in cloud_.status_at_delete]
        self.assertEqual([disk['id']] if send else [], deleted, case)
        self.assertLessEqual(len(cloud_.deletes()), 1, case)
        if case.where != 'here':
            self.assertEqual([], cloud_.deletes(), case)
        if system and not case.force:
            # Never while the ECS is running.
            self.assertNotIn('ACTIVE', [s for _, s in
                                        cloud_.status_at_delete], case)
        if case.dry_run:
            # 0 when the detach would go ahead.
            want = 0 if expected(case._replace(dry_run=False))[0] else 1
        else:
            want = 0 if send else 1
        self.assertEqual(want, status, case)


class TestSafetyProperty(SafetyTestCase):

    @settings(max_examples=500, deadline=None, database=None)
    @given(cases)
    def test_generated_table(self, case):
        self.check(case)

    @settings(max_examples=200, deadline=None, database=None)
    @given(named_by_a_source)
    def test_disagreeing_sources(self, case):
        self.check(case)
        if case.status == 'ACTIVE' and not case.stop_server:
            # Whatever the other sources say, and --force or not.
            self.assertFalse(expected(case)[0], case)

    def test_system_disk_of_a_running_ecs_needs_force(self):
        """Explicit product: every way the system disk could slip out."""
        count = 0
        for root, locked, task, os_string, os_type, scsi, api, stop in \
                itertools.product(ROOTS, LOCKS, (None, 'rebooting'),
                                  (fakes.LINUX_OS, fakes.WINDOWS_OS, None),
                                  ('Linux', None), (False, True),
                                  ('nova', 'native'), (False, True)):
            device = root or '/dev/vda'
            case = Case('ACTIVE', task, locked, root, device, os_string,
                        os_type, scsi, 'here', False, False, stop, api,
                        False)
            cloud_, disk, status = self.run_case(case)
            statuses = [s for _, s in cloud_.status_at_delete]
            self.assertNotIn('ACTIVE', statuses, case)
            if not stop:
                self.assertEqual([], cloud_.deletes(), case)
                self.assertEqual(1, status, case)
            count += 1
        self.assertEqual(4 * 3 * 2 * 3 * 2 * 2 * 2 * 2, count)

    def test_passing_cases_pass(self):
        for case in PASSING_CASES:
            self.assertEqual((True, case.device == '/dev/vda'),
                             expected(case), case)
            self.check(case)

    def test_examples_of_the_oracle(self):
        base = Case('ACTIVE', None, False, '/dev/vda', '/dev/vdb',
                    fakes.LINUX_OS, 'Linux', False, 'here', False, False,
                    False, 'nova', False)
        for case, send in (
                (base, True),
                (base._replace(device='/dev/vda'), False),
                # Changed on purpose: --force does not lift it.
                (base._replace(device='/dev/vda', force=True), False),
                (base._replace(device='/dev/vda', stop_server=True), True),
                (base._replace(where='nowhere', force=True), False),
                (base._replace(os_string=fakes.UNLISTED_OS), False),
                (base._replace(status='SHUTOFF',
                               os_string=fakes.UNLISTED_OS), True),
                (base._replace(os_type='Windows', scsi=True), False),
                (base._replace(locked=None), True),
                (base._replace(root=None, device='/dev/sda'), False),
                # The Xen spelling of the root proves nothing: a ...da
                # disk then counts as the system disk, weakly.
                (base._replace(root='/dev/xvda', device='/dev/sda'), False),
                (base._replace(root='/dev/xvda', device='/dev/sda',
                               force=True), True),
                (base._replace(dry_run=True), False),
                # A source naming the root outranks one that does not.
                (base._replace(root='/dev/sda', device='/dev/sda',
                               vol_says=None), False),
                (base._replace(root='/dev/sda', device='/dev/sda',
                               vol_says='/dev/xvda', force=True), False),
                (base._replace(root='/dev/sda', device='/dev/sda',
                               vol_says='sda', evs_says='',
                               nova_says='/dev/xvda'), False),
                (base._replace(root='/dev/sda', device='/dev/sda',
                               vol_says='/dev/vdb', disk_list='refused',
                               stop_server=True), True),
                # __os_version Windows, no __os_type, metadata Linux.
                (base._replace(os_string=fakes.WINDOWS_OS, os_type=None,
                               hint='Linux', scsi=True), False),
                (base._replace(os_string=fakes.WINDOWS_OS, os_type=None,
                               hint='Linux', scsi=True, force=True), True),
                # A Linux hint never outranks __os_type Windows.
                (base._replace(os_type='Windows', hint='Linux',
                               scsi=True), False)):
            self.assertEqual(send, expected(case)[0], case)
            self.check(case)


class TestRetryPolicy(SafetyTestCase):
    """Reads retried (at least 4 / 3 times); writes sent exactly once."""

    class Adapter(object):
        def __init__(self, **settings):
            self.status_code_retries = settings.get('status_code_retries')
            self.connect_retries = settings.get('connect_retries')
            self.retriable_status_codes = settings.get('codes')
            self.sent = []

        def request(self, url, method, **kwargs):
            self.sent.append((method, kwargs))
            return fakes.response(200, {})

    def test_reads(self):
        # Changed on purpose: connection retries and retries after an
        # error answer are both cloud.request's own (so that Retry-After
        # is capped and no retry outlasts the deadline); keystoneauth is
        # asked for none.
        for configured, status, connect in ((None, 4, 3), (0, 4, 3),
                                            (2, 4, 3), (9, 9, 9)):
            codes = [429, 500, 502, 503, 504]
            if configured:
                codes = sorted(codes + [409])
            for answer in codes:
                adapter = self.Adapter(status_code_retries=configured,
                                       connect_retries=configured,
                                       codes=[409] if configured else None)
                adapter.request = self.answering(adapter, answer)
                self.assertRaises(errors.CloudError, cloud.get_json,
                                  adapter, '/servers/x',
                                  sleep=lambda seconds: None)
                self.assertEqual(1 + status, len(adapter.sent), answer)
                kwargs = adapter.sent[0][1]
                self.assertEqual(0, kwargs['status_code_retries'])
                self.assertEqual(0, kwargs['connect_retries'])
                self.assertFalse(kwargs['raise_exc'])
            adapter = self.Adapter(connect_retries=configured)
            adapter.request = self.unreachable(adapter)
            self.assertRaises(ks_exceptions.ConnectFailure, cloud.get_json,
                              adapter, '/servers/x',
                              sleep=lambda seconds: None)
            self.assertEqual(1 + connect, len(adapter.sent), configured)
            adapter = self.Adapter(status_code_retries=configured)
            adapter.request = self.answering(adapter, 400)
            self.assertRaises(errors.CloudError, cloud.get_json, adapter,
                              '/servers/x', sleep=lambda seconds: None)
            self.assertEqual(1, len(adapter.sent))

    @staticmethod
    def unreachable(adapter):
        def request(url, method, **kwargs):
            adapter.sent.append((method, kwargs))
            raise ks_exceptions.ConnectFailure('no route to host')
        return request

    @staticmethod
    def answering(adapter, status):
        def request(url, method, **kwargs):
            adapter.sent.append((method, kwargs))
            return fakes.response(status, {})
        return request

    def test_writes_are_never_retried(self):
        adapter = self.Adapter(status_code_retries=9, connect_retries=9,
                               codes=[503])
        for method in ('DELETE', 'POST', 'PUT'):
            cloud.request(adapter, method, '/x')
        for method, kwargs in adapter.sent:
            self.assertEqual(0, kwargs['status_code_retries'], method)
            self.assertEqual(0, kwargs['connect_retries'], method)

    def test_every_write_of_the_command_is_sent_once(self):
        # A DELETE answered 503, by each API: one DELETE, exit 1.
        for api in ('nova', 'native'):
            case = Case('SHUTOFF', None, False, '/dev/vda', '/dev/vdb',
                        fakes.LINUX_OS, 'Linux', False, 'here', False,
                        False, False, api, False)
            cloud_, server, disk = self.build(case)
            proxy = cloud_.ecs if api == 'native' else cloud_.compute
            proxy.route('DELETE', re.compile('.*'), status=503,
                        body=fakes.nova_error(503, 'Service Unavailable'))
            self.app.client_manager.sdk_connection = cloud_.connection
            self.app.stderr = io.StringIO()
            cmd = command.DetachVolume(self.app, None)
            with mock.patch('otcclient_detach.detach.native_endpoint',
                            return_value=cloud_.ecs), \
                    mock.patch('otcclient_detach.reads.evs_native_endpoint',
                               return_value=cloud_.evs):
                status = cmd.run(self.check_parser(
                    cmd, ['--api', api, 'ecs', 'disk'], []))
            self.assertEqual(1, status)
            self.assertEqual(1, len(cloud_.deletes()), api)
            self.assertIn('the cloud answered 503 to the DELETE, and the '
                          'volume is still attached (status in-use): '
                          'nothing was detached',
                          ' '.join(self.app.stderr.getvalue().split()))


class TestFailureKinds(SafetyTestCase):

    def test_ambiguous_or_refused(self):
        for status, ambiguous in ((500, True), (503, True), (429, True),
                                  (408, True), (400, False), (403, False),
                                  (404, False), (409, False)):
            self.assertEqual(ambiguous, errors.is_ambiguous(
                errors.CloudError(status, 'x')), status)

    def test_an_answer_is_never_in_flight(self):
        # Real connection failures: tests/unit/test_errors.py.
        self.assertFalse(errors.may_still_happen(errors.CloudError(503, 'x')))


# -- a state change between the check and the write --------------------------

#: Writes the fake cloud saw sent on facts older than plan.FRESH_FOR
#: without a second look (the server and the volume read again by ID):
#: must stay 0.
STALE_WRITES = collections.Counter()
#: What may change while the snapshot is made (the check is then minutes
#: old): another admin starts or stops the ECS, locks it, starts a task,
#: or the disk starts a detach of its own.
CHANGES = ('started', 'stopped', 'locked', 'task', 'detaching')
#: How long the snapshot takes, in seconds: always past plan.FRESH_FOR.
SNAPSHOT_SECONDS = (plans.FRESH_FOR + 1, 30.0, 300.0)

Late = collections.namedtuple(
    'Late', 'status system stop_server force changes seconds')

late_cases = st.builds(
    Late, status=st.sampled_from(('ACTIVE', 'SHUTOFF')),
    system=st.booleans(), stop_server=st.booleans(), force=st.booleans(),
    changes=st.lists(st.sampled_from(CHANGES), max_size=2, unique=True),
    seconds=st.sampled_from(SNAPSHOT_SECONDS))


def changed(case):
    """(status, task, locked, disk status) once the changes are made."""
    status, task, locked, disk = case.status, None, False, 'in-use'
    for change in case.changes:
        if change in ('started', 'stopped'):
            status = 'ACTIVE' if change == 'started' else 'SHUTOFF'
        elif change == 'locked':
            locked = True
        elif change == 'task':
            task = 'rebooting'
        else:
            disk = 'detaching'
    return status, task, locked, disk


def holds(case, status, task, locked, disk, running):
    """Whether OTC's rules allow a write in this state."""
    forceable = [status in ('ACTIVE', 'SHUTOFF'), not task, not locked]
    # A detaching disk, and a running ECS's system disk named by
    # root_device_name: not even --force.
    hard = [disk == 'in-use', not (running and case.system)]
    return all(hard) and (case.force or all(forceable))


def late_expected(case):
    """(os-stop sent?, DELETE sent?) by the rules at each write's time.

    The check at the start passes (a Linux ECS on OTC's list, a VBD disk,
    no lock, no task); the changes happen while the snapshot is made, so
    every later write is judged on the state it meets.
    """
    if case.system and case.status == 'ACTIVE' and not case.stop_server:
        return False, False  # refused at the check already
    status, task, locked, disk = changed(case)
    if case.stop_server and case.status == 'ACTIVE':
        # os-stop is judged on the ECS as it will be: stopped.
        if not holds(case, status, task, locked, disk, running=False):
            return False, False
        stop = status != 'SHUTOFF'  # stopped meanwhile: nothing to stop
        return stop, True
    return False, holds(case, status, task, locked, disk,
                        running=status == 'ACTIVE')


class LateCloud(object):
    """A FakeCloud that makes snapshots and times each write's facts.

    Times are the fake clock's: a write is stale when the server or the
    volume was last read by ID more than plan.FRESH_FOR before it.
    """

    def __init__(self, case, clock):
        self.case, self.clock = case, clock
        self.cloud = fakes.FakeCloud()
        self.server = self.cloud.add_server(
            'ecs', status=case.status, metadata={'os_type': 'Linux'})
        system = self.cloud.add_volume('ecs-sys', self.server, '/dev/vda',
                                       os_version=fakes.LINUX_OS,
                                       os_type='Linux')
        self.disk = system if case.system else self.cloud.add_volume(
            'disk', self.server, '/dev/vdb')
        self.looked = {}  # what was read by ID -> when
        self.writes = []  # (what, how old the facts were)
        self.ready_at = None
        self._routes()

    def _routes(self):
        c, b = self.cloud.compute, self.cloud.block_storage
        c.route('GET', re.compile(r'/servers/(?!detail$)([^/]+)'),
                self._looked('server', self.cloud._get_server))
        b.route('GET', re.compile(r'/volumes/(?!detail$)([^/]+)'),
                self._looked('volume', self.cloud._get_volume))
        c.route('DELETE', re.compile(
            r'/servers/([^/]+)/os-volume_attachments/([^/]+)'),
            self._write('DELETE', self.cloud._delete_attachment))
        c.route('POST', re.compile(r'/servers/([^/]+)/action'),
                self._write('action', self._act))
        b.route('POST', '/snapshots', self._snapshot)
        b.route('GET', re.compile(r'/snapshots/([^/]+)'), self._snapshot_is)
        b.route('GET', '/snapshots', body={'snapshots': []})

    def _looked(self, what, real):
        def answer(call, *groups):
            self.looked[what] = self.clock.clock()
            return real(call, *groups)
        return answer

    def _write(self, what, real):
        def answer(call, *groups):
            now = self.clock.clock()
            age = now - min(self.looked.get(k, -1e9)
                            for k in ('server', 'volume'))
            self.writes.append((what, call.json))
            if age > plans.FRESH_FOR:
                STALE_WRITES[what] += 1
            return real(call, *groups)
        return answer

    def _act(self, call, server_id):
        body = self.cloud.servers[server_id]
        body['status'] = 'SHUTOFF' if 'os-stop' in (call.json or {}) \
            else 'ACTIVE'
        body['OS-EXT-STS:task_state'] = None
        return 202, ''

    def _snapshot(self, call):
        # The world moves on while the snapshot is made.
        status, task, locked, disk = changed(self.case)
        self.server.update({'status': status, 'locked': locked,
                            'OS-EXT-STS:task_state': task})
        self.cloud.volumes[self.disk['id']]['status'] = disk
        self.ready_at = self.clock.clock() + self.case.seconds
        return 202, {'snapshot': {'id': 'snap-1', 'status': 'creating'}}

    def _snapshot_is(self, call, snapshot_id):
        ready = self.clock.clock() >= self.ready_at
        return 200, {'snapshot': {'id': snapshot_id, 'status':
                                  'available' if ready else 'creating'}}

    def sent(self, what):
        return [json for kind, json in self.writes if kind == what]


class TestLateWrites(testtools.TestCase):
    """A write later than plan.FRESH_FOR is judged on the state it meets."""

    def run_late(self, case):
        clock = fakes.FakeClock()
        late = LateCloud(case, clock)
        self.useFixture(fixtures.MockPatch(
            'otcclient_detach.reads.evs_native_endpoint',
            return_value=late.cloud.evs))
        gatherer = facts.Gatherer(late.cloud.connection)
        gathered = gatherer.gather(late.server['id'], [late.disk['id']],
                                   stop_first=case.stop_server,
                                   snapshots=True)
        checked_at = clock.clock()
        plan = plans.make(gathered, plans.Options(
            force=case.force, stop_server=case.stop_server, snapshot=True,
            timeout=600))
        if not plan.refused:
            workflow.carry_out(gatherer, plan, process.Output(io.StringIO()),
                               checked_at, clock=clock.clock,
                               sleep=clock.sleep)
        return late

    def check(self, case):
        late = self.run_late(case)
        stop, delete = late_expected(case)
        stops = [j for j in late.sent('action') if 'os-stop' in (j or {})]
        self.assertEqual(stop, bool(stops), case)
        self.assertEqual(1 if delete else 0, len(late.sent('DELETE')), case)
        self.assertEqual({}, dict(STALE_WRITES), case)

    @settings(max_examples=150, deadline=None, database=None)
    @given(late_cases)
    def test_generated_changes(self, case):
        self.check(case)

    def test_examples(self):
        base = Late('SHUTOFF', True, False, False, (), 30.0)
        for case, sent in (
                # The system disk of a stopped ECS: fine, unless the ECS
                # was started meanwhile (--force or not).
                (base, (False, True)),
                (base._replace(changes=('started',)), (False, False)),
                (base._replace(changes=('started',), force=True),
                 (False, False)),
                (base._replace(changes=('locked',)), (False, False)),
                (base._replace(changes=('locked',), force=True),
                 (False, True)),
                (base._replace(changes=('detaching',), force=True),
                 (False, False)),
                # A running ECS that --stop-server stops after the
                # snapshot: not while a task runs on it.
                (base._replace(status='ACTIVE', stop_server=True),
                 (True, True)),
                (base._replace(status='ACTIVE', stop_server=True,
                               changes=('task',)), (False, False)),
                (base._replace(status='ACTIVE', stop_server=True,
                               changes=('stopped',)), (False, True)),
                (base._replace(status='ACTIVE', stop_server=True,
                               changes=('stopped', 'locked'), force=True),
                 (False, True))):
            self.assertEqual(sent, late_expected(case), case)
            self.check(case)

    def test_stopped_meanwhile_and_locked(self):
        # The second look before os-stop refuses (locked), and the ECS
        # needs no os-stop: the lock still counts for the DELETE.
        case = Late('ACTIVE', True, True, False, ('stopped', 'locked'),
                    30.0)
        self.assertEqual((False, False), late_expected(case))
        self.check(case)

    def test_started_meanwhile_with_stop_server(self):
        # --stop-server on an ECS that was stopped at the check: no
        # os-stop is planned, so a DELETE after it was started meanwhile
        # meets a running ECS and its system disk.
        case = Late('SHUTOFF', True, True, False, ('started',), 30.0)
        self.assertEqual((False, False), late_expected(case))
        self.check(case)

    def test_no_write_on_stale_facts(self):
        # Every case of the table, whatever the writes it should send: a
        # write the cloud sees is never on facts older than FRESH_FOR.
        runs = 0
        for status, system, stop, force, seconds in itertools.product(
                ('ACTIVE', 'SHUTOFF'), (True, False), (True, False),
                (True, False), SNAPSHOT_SECONDS):
            for number in range(3):
                for changes in itertools.combinations(CHANGES, number):
                    late = self.run_late(Late(status, system, stop, force,
                                              changes, seconds))
                    runs += 1 + len(late.writes)
        self.assertEqual(0, sum(STALE_WRITES.values()))
        self.assertGreater(runs, 2 * 2 * 2 * 2 * 3 * 16)
