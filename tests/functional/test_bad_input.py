"""Bad input, as a table: a short exact error, the right exit, no DELETE.

Every row runs the real ``openstack`` CLI against a
fresh simulator and checks the exit status (1, or 2 for a usage error),
the whole of stderr (whitespace-normalised; for a usage error its last
line), that there is no traceback and, by the simulator's request log,
that no DELETE was sent.  A usage error sends no request at all: the
options are checked before the CLI authenticates.

The file ends with a sample of the safety property (part 5) over an
explicit product of server states, disks and --force, with the real CLI;
tests/unit/test_safety.py holds the generated table.
"""

import collections

from tests.functional import base

from otcclient_detach.simulator import ids

USAGE = 'openstack server volume detach-otc: error: '

WEB = ids.sim_id('server', 'web-linux')
WIN = ids.sim_id('server', 'win-app')
DUP_1 = ids.sim_id('volume', 'dup-disk')
DUP_2 = ids.sim_id('volume', 'dup-disk', 2)
CLUSTER_A = ids.sim_id('server', 'cluster-a')
CLUSTER_B = ids.sim_id('server', 'cluster-b')
#: A UUID whose last character is not hexadecimal.
WRONG_CHAR = WEB[:-1] + 'g'
#: A well-formed UUID that names nothing.
MISSING = '00000000-0000-4000-8000-000000000000'
LONG = 'x' * 300
LONG_SHOWN = 'x' * 61 + '... (300 characters)'


def no_server(shown):
    return "No server with a name or ID of '%s' exists." % shown


def no_volume(shown):
    return "No volume with a name or ID of '%s' exists." % shown


def refused(volume, server, detail, way_out):
    """The two-line refusal of a volume that is not attached there."""
    return ('[attached] Refused, nothing was detached: volume %s is not '
            'attached to server %s (%s). Way out: %s.' % (
                volume, server, detail, way_out))


VOLUME_LIST = "check the server's disks with 'openstack server volume list " \
              "web-linux'"
FROM_WIN_APP = VOLUME_LIST + "; to detach it from where it is: 'openstack " \
    "server volume detach-otc win-app win-vbd'"

#: name, argv, exit status, expected stderr, set-up (a callable on the
#: simulator, or None).
Case = collections.namedtuple('Case', 'name argv status expected setup')


def case(name, argv, status, expected, setup=None):
    return Case(name, tuple(argv), status, expected, setup)


def make_twins(sim):
    """Two servers named cluster-a (the second was cluster-b)."""
    sim.patch_server('cluster-b', name='cluster-a')


LOOKUP_CASES = [
    case('unknown_server', ['nope', 'web-data-1'], 1, no_server('nope')),
    case('unknown_volume', ['web-linux', 'nope'], 1, no_volume('nope')),
    case('unknown_among_known', ['web-linux', 'web-data-1', 'nope'], 1,
         no_volume('nope')),
    case('ambiguous_volume', ['web-linux', 'dup-disk'], 1,
         "More than one volume exists with the name 'dup-disk': %s. Use the "
         "ID instead." % ', '.join(sorted([DUP_1, DUP_2]))),
    case('ambiguous_server', ['cluster-a', 'shared-disk'], 1,
         "More than one server exists with the name 'cluster-a': %s. Use "
         "the ID instead." % ', '.join(sorted([CLUSTER_A, CLUSTER_B])),
         make_twins),
    case('attached_to_another_server', ['web-linux', 'win-vbd'], 1,
         refused('win-vbd', 'web-linux',
                 'it is attached to server win-app (%s)' % WIN,
                 FROM_WIN_APP)),
    case('attached_to_another_server_forced',
         ['--force', 'web-linux', 'win-vbd'], 1,
         refused('win-vbd', 'web-linux',
                 'it is attached to server win-app (%s)' % WIN,
                 FROM_WIN_APP)),
    case('not_attached_at_all', ['web-linux', 'spare-disk'], 1,
         refused('spare-disk', 'web-linux', 'its status is available',
                 VOLUME_LIST)),
    case('not_attached_at_all_forced',
         ['--force', 'web-linux', 'spare-disk'], 1,
         refused('spare-disk', 'web-linux', 'its status is available',
                 VOLUME_LIST)),
    case('short_number_as_server', ['1234', 'web-data-1'], 1,
         no_server('1234')),
    case('not_a_uuid_as_volume', ['web-linux', 'not-a-uuid'], 1,
         no_volume('not-a-uuid')),
    case('uuid_with_wrong_character', [WRONG_CHAR, 'web-data-1'], 1,
         no_server(WRONG_CHAR)),
    case('uuid_of_nothing_as_server', [MISSING, 'web-data-1'], 1,
         no_server(MISSING)),
    case('uuid_of_nothing_as_volume', ['web-linux', MISSING], 1,
         no_volume(MISSING)),
    case('volume_id_as_server', [DUP_1, 'web-data-1'], 1, no_server(DUP_1)),
    case('empty_server', ['', 'web-data-1'], 1,
         'Server name or ID must not be empty.'),
    case('empty_volume', ['web-linux', ''], 1,
         'Volume name or ID must not be empty.'),
    case('empty_volume_among_known', ['web-linux', 'web-data-1', ''], 1,
         'Volume name or ID must not be empty.'),
    case('blank_server', ['   ', 'web-data-1'], 1,
         'Server name or ID must not be empty.'),
    case('padded_name', [' web-linux', 'web-data-1'], 1,
         no_server(' web-linux')),
    case('regex_is_not_a_wildcard_server', ['web-.*', 'web-data-1'], 1,
         no_server('web-.*')),
    case('regex_is_not_a_wildcard_volume', ['web-linux', 'web-data-.'], 1,
         no_volume('web-data-.')),
    case('very_long_server', [LONG, 'web-data-1'], 1, no_server(LONG_SHOWN)),
    case('very_long_volume', ['web-linux', LONG], 1, no_volume(LONG_SHOWN)),
    case('non_ascii_server', ['w\u00e9bserver-\u00fc', 'web-data-1'], 1,
         no_server('w\u00e9bserver-\u00fc')),
    case('non_ascii_volume', ['web-linux', '\u65e5\u672c\u8a9e'], 1,
         no_volume('\u65e5\u672c\u8a9e')),
    case('control_characters', ['web\x1b[31mlinux\n', 'web-data-1'], 1,
         no_server('web\\x1b[31mlinux\\n')),
    case('force_detach_of_system_disk',
         ['--api', 'native', '--force-detach', 'db-stopped',
          'db-stopped-sys'], 1,
         '--force-detach is for data disks only; db-stopped-sys is the '
         'system disk of server db-stopped'),
]

USAGE_CASES = [
    case('dry_run_with_stop_server',
         ['--dry-run', '--stop-server', 'web-linux', 'web-data-1'], 2,
         '--dry-run changes nothing, so it stops no server; drop '
         '--stop-server (the report judges a running ECS as the stopped one '
         'it would make of it only without --dry-run)'),
    case('dry_run_with_wait',
         ['--dry-run', '--wait', 'web-linux', 'web-data-1'], 2,
         '--dry-run changes nothing, so there is nothing to wait for; drop '
         '--wait'),
    case('force_detach_without_native',
         ['--force-detach', 'web-linux', 'web-data-1'], 2,
         "--force-detach is a flag of OTC's native detach API "
         '(delete_flag=1); add --api native, or drop --force-detach'),
    case('force_detach_with_nova',
         ['--api', 'nova', '--force-detach', 'web-linux', 'web-data-1'], 2,
         "--force-detach is a flag of OTC's native detach API "
         '(delete_flag=1); add --api native, or drop --force-detach'),
    case('start_server_without_stop_server',
         ['--start-server', 'web-linux', 'web-data-1'], 2,
         '--start-server starts the ECS again after --stop-server stopped '
         'it; add --stop-server, or drop --start-server'),
    case('timeout_zero', ['--wait', '--timeout', '0', 'web-linux', 'w'], 2,
         "argument --timeout: '0' is not a positive whole number of "
         "seconds"),
    case('timeout_negative',
         ['--wait', '--timeout', '-5', 'web-linux', 'w'], 2,
         "argument --timeout: '-5' is not a positive whole number of "
         "seconds"),
    case('timeout_not_a_number',
         ['--wait', '--timeout', 'abc', 'web-linux', 'w'], 2,
         "argument --timeout: 'abc' is not a positive whole number of "
         "seconds"),
    case('timeout_fraction',
         ['--wait', '--timeout', '1.5', 'web-linux', 'w'], 2,
         "argument --timeout: '1.5' is not a positive whole number of "
         "seconds"),
    case('timeout_empty', ['--wait', '--timeout', '', 'web-linux', 'w'], 2,
         "argument --timeout: '' is not a positive whole number of "
         "seconds"),
    # argparse quotes the choices or not, depending on Python's version.
    case('api_bogus', ['--api', 'bogus', 'web-linux', 'web-data-1'], 2,
         "argument --api: invalid choice: 'bogus' (choose from "),
    case('no_volume', ['web-linux'], 2,
         'name at least one <volume>, or give --all-data-disks'),
    case('volumes_and_all_data_disks',
         ['--all-data-disks', 'web-linux', 'web-data-1'], 2,
         '--all-data-disks detaches every data disk of the server: name no '
         'volume with it, or drop --all-data-disks'),
    case('no_arguments', [], 2,
         'the following arguments are required: <server>, <volume>'),
    case('unknown_option', ['--bogus', 'web-linux', 'web-data-1'], 2,
         'unrecognized arguments: --bogus'),
]

CASES = LOOKUP_CASES + USAGE_CASES


class TestBadInput(base.SimulatorTestCase):
    """One generated test per row of :data:`CASES`."""

    def check(self, row):
        if row.setup:
            row.setup(self.sim)
        result = self.detach(*row.argv)
        self.assertEqual(row.status, result.returncode, result)
        self.assertNoTraceback(result)
        self.assertEqual('', result.stdout, result)
        self.assertEqual([], self.deletes(), result)
        if row.status == 2:
            last = result.stderr.rstrip('\n').splitlines()[-1]
            if row.expected.endswith(' '):
                self.assertTrue(last.startswith(USAGE + row.expected),
                                result)
            else:
                self.assertEqual(USAGE + row.expected, last, result)
            # Checked before authenticating: not a single request.
            self.assertEqual([], self.sim.requests, result)
        else:
            self.assertEqual(row.expected, ' '.join(result.stderr.split()),
                             result)


def _test(row):
    def test(self):
        self.check(row)
    test.__doc__ = '%s -> exit %d' % (' '.join(row.argv) or '(nothing)',
                                      row.status)
    return test


for _row in CASES:
    setattr(TestBadInput, 'test_%s' % _row.name, _test(_row))
del _row


class TestGoodInputStillWorks(base.SimulatorTestCase):
    """Controls: unusual but valid input is not refused."""

    def test_non_ascii_names_that_exist(self):
        self.sim.patch_volume('web-data-1', name='\u30c7\u30fc\u30bf-\u00fc')
        result = self.detach('web-linux', '\u30c7\u30fc\u30bf-\u00fc')
        self.assertDetachedOnce(result, 'web-linux', 'web-data-1')

    def test_ids_for_names(self):
        result = self.detach(WEB, DUP_2)
        self.assertEqual(0, result.returncode, result)
        self.assertEqual(1, len(self.deletes()), result)
        self.assertTrue(self.deletes()[0]['path'].endswith(DUP_2), result)

    def test_same_volume_by_name_and_id_is_detached_once(self):
        result = self.detach('web-linux', 'web-data-1',
                             self.volume_id('web-data-1'))
        self.assertDetachedOnce(result, 'web-linux', 'web-data-1')

    def test_usage_error_needs_no_cloud(self):
        self.sim.stop()
        result = self.detach('--dry-run', '--wait', 'web-linux', 'w',
                             subprocess=True)
        self.assertEqual(2, result.returncode, result)
        self.assertEqual(USAGE + '--dry-run changes nothing, so there is '
                         'nothing to wait for; drop --wait',
                         result.stderr.rstrip('\n').splitlines()[-1])


# -- the safety property, sampled with the real CLI (part 5) ---------------

#: server -> what the scenario makes of it
SAMPLE_SERVERS = {
    'web-linux': 'ACTIVE, CentOS 7.6 (listed)',
    'win-app': 'ACTIVE, Windows Server 2016 (listed)',
    'db-stopped': 'SHUTOFF',
    'busy-stopping': 'ACTIVE, task powering-off',
    'legacy-os': 'ACTIVE, Slackware 14.2 (not listed)',
}

#: (server, volume, --force, is a DELETE allowed?)  The verdicts follow
#: from OTC's rules by hand, not from the code under test.
SAMPLE = [
    ('web-linux', 'web-linux-sys', False, False),   # system disk, running
    # --force cannot help: the cloud refuses a known root device itself
    ('web-linux', 'web-linux-sys', True, False),
    ('web-linux', 'web-data-2', False, True),       # data disk, listed OS
    ('win-app', 'win-scsi', False, False),          # SCSI on running Win
    ('win-app', 'win-scsi', True, True),
    ('win-app', 'win-vbd', False, True),            # VBD on running Win
    ('win-app', 'win-app-sys', False, False),       # system disk (sda)
    ('db-stopped', 'db-stopped-sys', False, True),  # stopped: any disk
    ('busy-stopping', 'busy-data', False, False),   # task in progress
    ('busy-stopping', 'busy-sys', False, False),
    ('legacy-os', 'legacy-data', False, False),     # OS not listed
    ('legacy-os', 'legacy-data', True, True),
    ('web-linux', 'win-vbd', True, False),          # not attached: never
]


class TestSafetySample(base.SimulatorTestCase):
    """A DELETE only when every rule passes or --force was given."""

    def check(self, server, volume, force, allowed):
        argv = (['--force'] if force else []) + [server, volume]
        result = self.detach(*argv)
        self.assertNoTraceback(result)
        sent = [r['path'] for r in self.deletes()]
        if allowed:
            self.assertEqual([self.nova_detach_path(server, volume)], sent,
                             result)
        else:
            self.assertEqual([], sent, result)
            self.assertEqual(1, result.returncode, result)


def _sample_test(server, volume, force, allowed):
    def test(self):
        self.check(server, volume, force, allowed)
    test.__doc__ = '%s%s %s (%s): %s' % (
        '--force ' if force else '', server, volume, SAMPLE_SERVERS[server],
        'DELETE' if allowed else 'no DELETE')
    return test


for _s in SAMPLE:
    setattr(TestSafetySample, 'test_%s_%s%s' % (
        _s[0].replace('-', '_'), _s[1].replace('-', '_'),
        '_forced' if _s[2] else ''), _sample_test(*_s))
del _s
