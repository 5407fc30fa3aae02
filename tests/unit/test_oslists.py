"""Tests for otcclient_detach.oslists: OTC's lists of OSs.

An ECS reports its OS as the ``__os_version`` of its image, spelt the way
IMS spells it ("Debian GNU/Linux 8.6.0 64bit", "Ubuntu 16.04 server
64bit"), while the seed's Table 1 writes "Debian 8.6.0 64bit" and "Ubuntu
Server 16.04 64bit".  The expectations below are written by hand from the
seed document (shared/reference/000_84eab01e54aa0504.txt), the IMS list
(otcclient_detach/data/ims-supported-os.tsv) and the IMS values table
(tests/unit/data/ims-os-version-values.tsv).
"""

import os

import fixtures
import testtools

from otcclient_detach import oslists
from otcclient_detach import user_oslist

HERE = os.path.dirname(os.path.abspath(__file__))
VALUES_FILE = os.path.join(HERE, 'data', 'ims-os-version-values.tsv')
IMS_FILE = os.path.join(oslists.DATA_DIR, 'ims-supported-os.tsv')
SEED_FILE = os.path.join(oslists.DATA_DIR, 'seed-table1.tsv')

IMS_SOURCE = oslists.SOURCES[0][1]
SEED_SOURCE = oslists.SOURCES[1][1]


def read_tsv(path):
    """The rows of a data file, without comments and blank lines."""
    rows = []
    with open(path, encoding='utf-8') as f:
        for line in f:
            line = line.rstrip('\n')
            if line.strip() and not line.startswith('#'):
                rows.append(tuple(line.split('\t')))
    return rows


def joined(family, version):
    """A list row as one OS name, the way the tables mean it.

    Rows either repeat the family in the version column ("CentOS 8.5
    64bit") or give the number only ("7.3 64bit" under "CentOS").
    """
    if version[0].isdigit():
        return family + ' ' + version
    return version


# The seed's Table 1, all 26 rows, transcribed by hand from the seed
# document: (OS column, Version column, the row as one name, the spelling
# an image of that OS carries in __os_version).
SEED_TABLE1 = [
    ('CentOS', '7.3 64bit', 'CentOS 7.3 64bit', 'CentOS 7.3 64bit'),
    ('CentOS', '7.2 64bit', 'CentOS 7.2 64bit', 'CentOS 7.2 64bit'),
    ('CentOS', '6.8 64bit', 'CentOS 6.8 64bit', 'CentOS 6.8 64bit'),
    ('CentOS', '6.7 64bit', 'CentOS 6.7 64bit', 'CentOS 6.7 64bit'),
    ('Debian', '8.6.0 64bit', 'Debian 8.6.0 64bit',
     'Debian GNU/Linux 8.6.0 64bit'),
    ('Debian', '8.5.0 64bit', 'Debian 8.5.0 64bit',
     'Debian GNU/Linux 8.5.0 64bit'),
    ('Fedora', '25 64bit', 'Fedora 25 64bit', 'Fedora 25 64bit'),
    ('Fedora', '24 64bit', 'Fedora 24 64bit', 'Fedora 24 64bit'),
    ('SUSE', 'SUSE Linux Enterprise Server 12 SP2 64bit',
     'SUSE Linux Enterprise Server 12 SP2 64bit',
     'SUSE Linux Enterprise Server 12 SP2 64bit'),
    ('SUSE', 'SUSE Linux Enterprise Server 12 SP1 64bit',
     'SUSE Linux Enterprise Server 12 SP1 64bit',
     'SUSE Linux Enterprise Server 12 SP1 64bit'),
    ('SUSE', 'SUSE Linux Enterprise Server 11 SP4 64bit',
     'SUSE Linux Enterprise Server 11 SP4 64bit',
     'SUSE Linux Enterprise Server 11 SP4 64bit'),
    ('SUSE', 'SUSE Linux Enterprise Server 12 64bit',
     'SUSE Linux Enterprise Server 12 64bit',
     'SUSE Linux Enterprise Server 12 64bit'),
    ('OpenSUSE', '42.2 64bit', 'OpenSUSE 42.2 64bit', 'openSUSE 42.2 64bit'),
    ('OpenSUSE', '42.1 64bit', 'OpenSUSE 42.1 64bit', 'openSUSE 42.1 64bit'),
    ('Oracle Linux Server release', '7.3 64bit',
     'Oracle Linux Server release 7.3 64bit',
     'Oracle Linux Server release 7.3 64bit'),
    ('Oracle Linux Server release', '7.2 64bit',
     'Oracle Linux Server release 7.2 64bit',
     'Oracle Linux Server release 7.2 64bit'),
    ('Oracle Linux Server release', '6.8 64bit',
     'Oracle Linux Server release 6.8 64bit',
     'Oracle Linux Server release 6.8 64bit'),
    ('Oracle Linux Server release', '6.7 64bit',
     'Oracle Linux Server release 6.7 64bit',
     'Oracle Linux Server release 6.7 64bit'),
    ('Ubuntu Server', '16.04 64bit', 'Ubuntu Server 16.04 64bit',
     'Ubuntu 16.04 server 64bit'),
    ('Ubuntu Server', '14.04 64bit', 'Ubuntu Server 14.04 64bit',
     'Ubuntu 14.04 server 64bit'),
    ('Ubuntu Server', '14.04.4 64bit', 'Ubuntu Server 14.04.4 64bit',
     'Ubuntu 14.04.4 server 64bit'),
    ('Windows', 'Windows Server 2008 R2 Enterprise 64bit',
     'Windows Server 2008 R2 Enterprise 64bit',
     'Windows Server 2008 R2 Enterprise 64bit'),
    ('Windows', 'Windows Server 2012 R2 Standard 64bit',
     'Windows Server 2012 R2 Standard 64bit',
     'Windows Server 2012 R2 Standard 64bit'),
    # No such edition as "2016 R2": images say "2016 Standard".
    ('Windows', 'Windows Server 2016 R2 Standard 64bit',
     'Windows Server 2016 R2 Standard 64bit',
     'Windows Server 2016 Standard 64bit'),
    ('Red Hat Linux Enterprise', '7.3 64bit',
     'Red Hat Linux Enterprise 7.3 64bit',
     'Redhat Linux Enterprise 7.3 64bit'),
    ('Red Hat Linux Enterprise', '6.8 64bit',
     'Red Hat Linux Enterprise 6.8 64bit',
     'Redhat Linux Enterprise 6.8 64bit'),
]

#: OSs on the IMS list and not in the seed's Table 1: a catalog of the
#: seed table alone must not know them.
IMS_ONLY = [
    'CentOS 8.5 64bit',
    'Fedora 39 64bit',
    'Debian GNU/Linux 12.0.0 64bit',
    'Ubuntu 22.04 server 64bit',
    'Windows Server 2019 Standard 64bit',
    'Windows 10 64bit',
    'Redhat Linux Enterprise 9.1 64bit',
    'openSUSE 15.5 64bit',
    'EulerOS 2.9 64bit',
]

# (string, the IMS list row it means): the same OS spelt differently.
SPELLING_VARIANTS = [
    # Red Hat / Redhat, with and without "Linux Enterprise".
    ('Redhat Linux Enterprise 7.6 64bit',
     'Red Hat Linux Enterprise 7.6 64bit'),
    ('RedHat Linux Enterprise 8.4 64bit',
     'Red Hat Linux Enterprise 8.4 64bit'),
    ('Redhat 7.6 64bit', 'Red Hat Linux Enterprise 7.6 64bit'),
    ('Red Hat Enterprise Linux 9.0 64bit',
     'Red Hat Linux Enterprise 9.0 64bit'),
    # server / Server / no Server.
    ('Ubuntu 22.04 server 64bit', 'Ubuntu 22.04 Server 64bit'),
    ('Ubuntu Server 20.04 64bit', 'Ubuntu 20.04 Server 64bit'),
    ('Ubuntu 18.04 64bit', 'Ubuntu 18.04 Server 64bit'),
    ('windows server 2019 datacenter 64bit',
     'Windows Server 2019 Datacenter 64bit'),
    # Bitness spellings.
    ('CentOS 7.9 64 bit', 'CentOS 7.9 64bit'),
    ('CentOS 7.9 64-bit', 'CentOS 7.9 64bit'),
    ('CentOS 7.9 64Bit', 'CentOS 7.9 64bit'),
    ('CentOS 6.10 32 bit', 'CentOS 6.10 32bit'),
    ('CentOS 6.10 32-bit', 'CentOS 6.10 32bit'),
    ('Windows 7 Professional 32 bit', 'Windows 7 Professional 32bit'),
    # Word order.
    ('Windows Server 2008 R2 WEB 64bit', 'Windows Server 2008 WEB R2 64bit'),
    ('Windows Server 2012 Essentials R2 64bit',
     'Windows Server 2012 R2 Essentials 64bit'),
    # GNU/Linux or not.
    ('Debian 11.7.0 64bit', 'Debian GNU/Linux 11.7.0 64bit'),
    ('debian gnu/linux 10.13.0 64bit', 'Debian GNU/Linux 10.13.0 64bit'),
    # The IMS table's own typo, and its number-only rows.
    ('Rocky Linux 9.2 64bit', 'Rocky LInux 9.2 64bit'),
    ('CentOS Stream 9.6 64bit', 'CentOS Stream 9.6 64bit'),
    ('FreeBSD 13.2 64bit', 'FreeBSD 13.2 64bit'),
    # Surrounding and repeated blanks.
    ('  CentOS 7.6 64bit\n', 'CentOS 7.6 64bit'),
    ('CentOS  7.6\t64bit', 'CentOS 7.6 64bit'),
    # No bitness given: the listed bitness will do.
    ('CentOS 7.6', 'CentOS 7.6 64bit'),
    ('Fedora 25', 'Fedora 25 64bit'),
]

#: Strings that are on neither list, in any spelling.
NOT_LISTED = [
    'Slackware 14.2 64bit',
    'Slackware 14.2',
    # Only the 64bit edition is listed.
    'CentOS 7.3 32bit',
    'CentOS 7.3 32 bit',
    'Windows 7 Enterprise 32bit',
    'Windows Server 2003 64bit',
    'Windows Server 2012 R2 64bit',
    'Ubuntu 24.04 server 64bit',
    # Versions next to listed ones.
    'CentOS 8.6 64bit',
    'Red Hat Linux Enterprise 7.7 64bit',
    'Redhat 7.7 64bit',
    'Fedora 21 64bit',
    'Fedora 40 64bit',
    'Debian GNU/Linux 8.10.0 64bit',
    'SUSE Linux Enterprise Server 11 SP1 64bit',
    'openSUSE 42.4 64bit',
    'CoreOS 1068.10.0',
    'Windows Server 2008 64bit',
    'Ubuntu 16.04 desktop 64bit',
    'Linux',
    'Windows',
    '64bit',
    '',
    None,
    ' ',
    '\t\n',
]

# __os_version values of tests/unit/data/ims-os-version-values.tsv that
# are on neither list (the IMS supported-OS list or the seed's Table 1).
# Every other value of that file is on one of them.
VALUES_NOT_LISTED = {
    # IMS lists SLES 11 SP3 and SP4 only; the seed 11 SP4 only.
    'SUSE Linux Enterprise Server 11 SP1 64bit',
    # IMS lists CentOS 6.9 in 64bit only.
    'CentOS 6.9 32bit',
    # Debian 8: IMS lists 8.2, 8.4 to 8.8; the seed 8.5 and 8.6.
    'Debian GNU/Linux 8.10.0 64bit',
    'Debian GNU/Linux 8.1.0 64bit',
    # CoreOS is on no list.
    'CoreOS 1068.10.0',
    'CoreOS 1010.5.0',
    'CoreOS 1298.6.0',
}

# Values of that file with the list row they must be found as (the IMS
# list is consulted first, so an OS on both lists is found there).
VALUES_LISTED = [
    ('Windows 10 64bit', 'Windows 10 64bit'),
    ('Windows 7 Professional 32bit', 'Windows 7 Professional 32bit'),
    ('Windows Server 2016 Standard 64bit',
     'Windows Server 2016 Standard 64bit'),
    ('Windows Server 2012 Essentials R2 64bit',
     'Windows Server 2012 R2 Essentials 64bit'),
    ('Windows Server 2008 R2 WEB 64bit', 'Windows Server 2008 WEB R2 64bit'),
    ('SUSE Linux Enterprise Server 11 SP3 32bit',
     'SUSE Linux Enterprise Server 11 SP3 32bit'),
    ('Oracle Linux Server release 6.10 64bit',
     'Oracle Linux Server release 6.10 64bit'),
    ('Redhat 7.6 64bit', 'Red Hat Linux Enterprise 7.6 64bit'),
    ('Redhat Linux Enterprise 8.0 64bit',
     'Red Hat Linux Enterprise 8.0 64bit'),
    ('Redhat Linux Enterprise 6.4 32bit',
     'Red Hat Linux Enterprise 6.4 32bit'),
    ('Ubuntu 19.04 server 64bit', 'Ubuntu 19.04 Server 64bit'),
    ('Ubuntu 16.04.3 Server 64bit', 'Ubuntu 16.04.3 Server 64bit'),
    ('Ubuntu 14.04.1 server 32bit', 'Ubuntu 14.04.1 Server 32bit'),
    ('openSUSE 11.3 64bit', 'openSUSE 11.3 64bit'),
    ('CentOS 7.0 32bit', 'CentOS 7.0 32bit'),
    ('CentOS 6.9 64bit', 'CentOS 6.9 64bit'),
    ('Debian GNU/Linux 8.6.0 64bit', 'Debian GNU/Linux 8.6.0 64bit'),
    ('Debian GNU/Linux 10.0.0 64bit', 'Debian GNU/Linux 10.0.0 64bit'),
    ('Fedora 22 64bit', 'Fedora 22 64bit'),
    ('EulerOS 2.1 64bit', 'EulerOS 2.1 64bit'),
    ('openEuler 20.03 64bit', 'openEuler 20.03 64bit'),
]


def variants(spelling):
    """Spellings of one OS that must all be found as that OS."""
    found = [spelling, spelling.upper(), spelling.lower(),
             spelling.swapcase()]
    for bits in ('64bit', '32bit'):
        if spelling.endswith(bits):
            stem = spelling[:-len(bits)]
            number = bits[:2]
            found += [stem + number + ' bit', stem + number + '-bit',
                      stem + number + ' Bit', stem + number + 'bits']
    if 'Server' in spelling:
        found += [spelling.replace('Server', 'server'),
                  spelling.replace('Server', 'SERVER')]
    return found


class TestSeedTable(testtools.TestCase):
    """The seed's Table 1, as shipped in data/seed-table1.tsv."""

    def test_table_has_26_rows(self):
        self.assertEqual(26, len(SEED_TABLE1))

    def test_data_file_is_the_seed_table(self):
        expected = [(family, version)
                    for family, version, _row, _real in SEED_TABLE1]
        self.assertEqual(expected, read_tsv(SEED_FILE))

    def test_every_row_matches_its_real_spelling(self):
        catalog = oslists.OsCatalog(sources=[oslists.SOURCES[1]])
        for family, version, row, real in SEED_TABLE1:
            listed = catalog.match(real)
            self.assertIsNotNone(
                listed, 'seed row %r: %r not found' % (row, real))
            self.assertEqual(
                (row, SEED_SOURCE), (listed.spelling, listed.source),
                'seed row %r: %r found as %r' % (row, real, listed))

    def test_every_row_matches_in_the_full_catalog(self):
        catalog = oslists.catalog()
        for family, version, row, real in SEED_TABLE1:
            self.assertIsNotNone(
                catalog.match(real),
                'seed row %r: %r not found in the full catalog'
                % (row, real))

    def test_seed_catalog_knows_only_the_seed(self):
        catalog = oslists.OsCatalog(sources=[oslists.SOURCES[1]])
        self.assertEqual(26, len(catalog))
        for os_string in IMS_ONLY:
            self.assertIsNone(
                catalog.match(os_string),
                '%r is not in the seed table' % os_string)

    def test_ims_only_strings_are_on_the_ims_list(self):
        # The counterpart of the test above: the strings are real.
        catalog = oslists.OsCatalog(sources=[oslists.SOURCES[0]])
        for os_string in IMS_ONLY:
            self.assertIsNotNone(
                catalog.match(os_string),
                '%r is on the IMS list' % os_string)


class TestImsList(testtools.TestCase):
    """data/ims-supported-os.tsv: every row, in every spelling."""

    def test_every_row_matches_itself_and_its_variants(self):
        catalog = oslists.catalog()
        rows = read_tsv(IMS_FILE)
        self.assertGreater(len(rows), 200)
        for family, version in rows:
            spelling = joined(family, version)
            for variant in variants(spelling):
                listed = catalog.match(variant)
                self.assertIsNotNone(
                    listed, 'IMS row %r: variant %r not found'
                    % (spelling, variant))
                self.assertEqual(
                    (spelling, IMS_SOURCE),
                    (listed.spelling, listed.source),
                    'IMS row %r: variant %r found as %r'
                    % (spelling, variant, listed))

    def test_rows_are_distinct_oses(self):
        # Every row is its own entry: no two rows fold together.
        rows = read_tsv(IMS_FILE)
        catalog = oslists.OsCatalog(sources=[oslists.SOURCES[0]])
        self.assertEqual(len(rows), len(catalog))

    def test_spelling_variants(self):
        catalog = oslists.catalog()
        for os_string, row in SPELLING_VARIANTS:
            listed = catalog.match(os_string)
            self.assertIsNotNone(
                listed, '%r should be found as %r' % (os_string, row))
            self.assertEqual(
                (row, IMS_SOURCE), (listed.spelling, listed.source),
                '%r found as %r' % (os_string, listed))


class TestNotListed(testtools.TestCase):

    def test_not_listed(self):
        catalog = oslists.catalog()
        for os_string in NOT_LISTED:
            self.assertIsNone(
                catalog.match(os_string),
                '%r is on no list' % (os_string,))

    def test_not_listed_in_seed_catalog(self):
        catalog = oslists.OsCatalog(sources=[oslists.SOURCES[1]])
        for os_string in NOT_LISTED:
            self.assertIsNone(
                catalog.match(os_string),
                '%r is not in the seed table' % (os_string,))


class TestOsVersionValues(testtools.TestCase):
    """The __os_version values that images really carry."""

    def setUp(self):
        super(TestOsVersionValues, self).setUp()
        self.values = [version for _family, version in read_tsv(VALUES_FILE)]

    def test_tables_name_real_values(self):
        # Guards the hand-written tables against typos.
        for value in VALUES_NOT_LISTED:
            self.assertIn(value, self.values)
        for value, _row in VALUES_LISTED:
            self.assertIn(value, self.values)
        self.assertGreaterEqual(len(VALUES_LISTED), 15)

    def test_every_value(self):
        catalog = oslists.catalog()
        for value in self.values:
            listed = catalog.match(value)
            if value in VALUES_NOT_LISTED:
                self.assertIsNone(
                    listed, '%r is on no list, found as %r'
                    % (value, listed))
            else:
                self.assertIsNotNone(
                    listed, '%r is listed but not found' % value)

    def test_listed_values_are_found_as_their_row(self):
        catalog = oslists.catalog()
        for value, row in VALUES_LISTED:
            listed = catalog.match(value)
            self.assertIsNotNone(listed, '%r not found' % value)
            self.assertEqual(
                (row, IMS_SOURCE), (listed.spelling, listed.source),
                '%r found as %r' % (value, listed))


# (a, b, whether fold() must make them equal).
FOLD_CASES = [
    ('CentOS 7.6 64bit', 'centos 7.6 64BIT', True),
    ('CentOS 7.6 64bit', 'CentOS 7.6 64 bit', True),
    ('CentOS 7.6 64bit', 'CentOS 7.6 64-bit', True),
    ('Red Hat Linux Enterprise 7.3 64bit', 'Redhat 7.3 64bit', True),
    ('Windows Server 2008 WEB R2 64bit', 'Windows Server 2008 R2 WEB 64bit',
     True),
    ('Debian GNU/Linux 8.6.0 64bit', 'Debian 8.6.0 64bit', True),
    ('Ubuntu 16.04 server 64bit', 'Ubuntu Server 16.04 64bit', True),
    ('CentOS 7.6 64bit', 'CentOS 7.6 32bit', False),
    ('CentOS 7.6 64bit', 'CentOS 7.5 64bit', False),
    ('Windows Server 2012 R2 Standard 64bit',
     'Windows Server 2012 Standard 64bit', False),
    ('SUSE Linux Enterprise Server 12 64bit',
     'SUSE Linux Enterprise Server 12 SP1 64bit', False),
    ('CentOS Stream 8.6 64bit', 'CentOS 8.6 64bit', False),
]


class TestFold(testtools.TestCase):

    def test_fold(self):
        for a, b, equal in FOLD_CASES:
            self.assertEqual(
                equal, oslists.fold(a) == oslists.fold(b),
                'fold(%r) == fold(%r) should be %s: %r, %r'
                % (a, b, equal, oslists.fold(a), oslists.fold(b)))

    def test_catalog_is_loaded_once(self):
        self.assertIs(oslists.catalog(), oslists.catalog())


# A user OS list as an operator writes it: comments, blank lines, a note
# after a tab, an OS without bitness, CRLF line ends.
USER_LIST = (
    '# OSs we checked ourselves\n'
    '\n'
    'Ubuntu 24.04 server 64bit\tchecked by ops, 2026-11-02\r\n'
    '  # indented comment\n'
    'Debian GNU/Linux 13.0.0 64bit\n'
    'Fedora 41\n'
    '   Rocky   Linux 10.0 64bit  \t  \n'
    'CentOS 7.6 64bit\tOTC lists it too\n'
)

# (__os_version, line of USER_LIST it is found at, the note), or None
# for a line of OTC's lists.
USER_MATCHES = [
    ('Ubuntu 24.04 server 64bit', 3, 'checked by ops, 2026-11-02'),
    ('Ubuntu Server 24.04 64-bit', 3, 'checked by ops, 2026-11-02'),
    ('Ubuntu 24.04', 3, 'checked by ops, 2026-11-02'),
    ('Debian 13.0.0 64bit', 5, None),
    # An entry without bitness vouches for every bitness.
    ('Fedora 41 64bit', 6, None),
    ('Fedora 41 32bit', 6, None),
    ('Fedora 41', 6, None),
    ('Rocky Linux 10.0 64bit', 7, None),
]
# On OTC's lists and the user's: OTC's list is the source.
BOTH = ['CentOS 7.6 64bit']
# Near the user's entries, and on no list.
STILL_NOT_LISTED = ['Ubuntu 24.04 server 32bit', 'Ubuntu 24.10 server 64bit',
                    'Debian GNU/Linux 13.1.0 64bit', 'Fedora 42 64bit',
                    'Rocky Linux 10.0 32bit', 'Slackware 14.2 64bit']


class UserListTestCase(testtools.TestCase):

    def setUp(self):
        super(UserListTestCase, self).setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def write(self, text, name='os-list.tsv', encoding='utf-8'):
        path = os.path.join(self.tmp, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as f:
            f.write(text.encode(encoding) if isinstance(text, str)
                    else text)
        return path

    def assertOsListError(self, text, call, *args, **kwargs):
        e = self.assertRaises(user_oslist.OsListError, call, *args,
                              **kwargs)
        self.assertEqual(text, str(e))


class TestUserListMatches(UserListTestCase):

    def setUp(self):
        super(TestUserListMatches, self).setUp()
        self.path = self.write(USER_LIST)
        self.catalog = oslists.catalog(user_file=self.path)

    def test_entries_are_found_with_their_file_and_line(self):
        for os_string, line, note in USER_MATCHES:
            listed = self.catalog.match(os_string)
            self.assertIsNotNone(listed, os_string)
            self.assertEqual((self.path, line, note),
                             (listed.path, listed.line, listed.note),
                             os_string)
            self.assertIn('user OS list %s, line %d' % (self.path, line),
                          listed.source)
            if note:
                self.assertIn(note, listed.source)

    def test_otc_lists_come_first(self):
        for os_string in BOTH:
            listed = self.catalog.match(os_string)
            self.assertEqual((IMS_SOURCE, None),
                             (listed.source, listed.path), os_string)

    def test_nothing_else_is_added(self):
        # NOT_LISTED has the Ubuntu 24.04 that the user list vouches for.
        vouched = [USER_MATCHES[0][0]]
        self.assertEqual(vouched, [s for s in NOT_LISTED if s in vouched])
        for os_string in STILL_NOT_LISTED + NOT_LISTED:
            if os_string not in vouched:
                self.assertIsNone(self.catalog.match(os_string), os_string)

    def test_otc_lists_are_all_still_there(self):
        self.assertEqual(len(oslists.catalog()) + 4, len(self.catalog))
        for _family, _version, _row, real in SEED_TABLE1:
            self.assertIsNotNone(self.catalog.match(real), real)

    def test_one_catalog_per_file(self):
        self.assertIs(self.catalog, oslists.catalog(user_file=self.path))
        self.assertIsNot(self.catalog, oslists.catalog())
        self.assertIsNone(oslists.catalog().match(USER_MATCHES[0][0]))
        self.assertIs(self.catalog.user_list, oslists.catalog(
            user_file=self.path).user_list)
        self.assertIsNone(oslists.catalog().user_list)


class TestFindingTheList(UserListTestCase):
    """--os-list, then OTC_DETACH_OS_LIST, then the XDG config file."""

    def setUp(self):
        super(TestFindingTheList, self).setUp()
        self.option = self.write('# option', 'option.tsv')
        self.env = self.write('# env', 'env.tsv')
        self.xdg = self.write('# xdg', os.path.join(
            'xdg', 'otcclient-detach', 'os-list.tsv'))
        self.home = self.write('# home', os.path.join(
            'home', '.config', 'otcclient-detach', 'os-list.tsv'))

    def environ(self, env=False, xdg=False, home=True):
        environ = {'HOME': os.path.join(self.tmp, 'home') if home
                   else os.path.join(self.tmp, 'nohome')}
        if env:
            environ[user_oslist.ENV_VAR] = self.env
        if xdg:
            environ['XDG_CONFIG_HOME'] = os.path.join(self.tmp, 'xdg')
        return environ

    def test_order(self):
        # (option given?, environment, the list found).
        for option, environ, expected in (
                (True, self.environ(env=True, xdg=True), self.option),
                (False, self.environ(env=True, xdg=True), self.env),
                (False, self.environ(xdg=True), self.xdg),
                (False, self.environ(), self.home),
                (False, self.environ(home=False), None),
                (True, None, self.option),
                # Without an environment, only the option counts.
                (False, None, None)):
            found = user_oslist.find(self.option if option else None,
                                     environ)
            self.assertEqual(expected, found, (option, environ))

    def test_relative_xdg_config_home_is_ignored(self):
        environ = dict(self.environ(), XDG_CONFIG_HOME='xdg')
        self.assertEqual(self.home, user_oslist.find(None, environ))

    def test_empty_variable_is_unset(self):
        environ = dict(self.environ(), **{user_oslist.ENV_VAR: ''})
        self.assertEqual(self.home, user_oslist.find(None, environ))

    def test_missing_files_named_by_option_or_variable(self):
        gone = os.path.join(self.tmp, 'gone.tsv')
        self.assertOsListError(
            'The OS list %s (--os-list) does not exist.' % gone,
            user_oslist.find, gone, self.environ())
        self.assertOsListError(
            'The OS list %s (OTC_DETACH_OS_LIST) does not exist.' % gone,
            user_oslist.find, None,
            dict(self.environ(), OTC_DETACH_OS_LIST=gone))
        self.assertOsListError(
            'The OS list %s (--os-list) is not a file.' % self.tmp,
            user_oslist.find, self.tmp, None)

    def test_xdg_directory_in_the_files_place(self):
        os.makedirs(os.path.join(self.tmp, 'x', 'otcclient-detach',
                                 'os-list.tsv'))
        environ = dict(self.environ(),
                       XDG_CONFIG_HOME=os.path.join(self.tmp, 'x'))
        e = self.assertRaises(user_oslist.OsListError, user_oslist.find,
                              None, environ)
        self.assertIn('is not a file', str(e))

    def test_catalog_reads_the_environment_it_is_given(self):
        self.write('Ubuntu 24.04 server 64bit\n', 'env.tsv')
        catalog = oslists.catalog(environ=self.environ(env=True))
        self.assertEqual(self.env, catalog.user_list.path)
        self.assertEqual(1, catalog.match('Ubuntu 24.04 server 64bit').line)


# (line, what parse_line makes of it: an Entry, None, or words of the
# error).
LINES = [
    ('', None),
    ('   \t ', None),
    ('# a comment', None),
    ('\t# a comment after blanks', None),
    ('Ubuntu 24.04 server 64bit',
     user_oslist.Entry('Ubuntu 24.04 server 64bit', 7, None)),
    ('  Ubuntu  24.04\tserver 64bit ', user_oslist.Entry(
        'Ubuntu 24.04', 7, 'server 64bit')),
    ('Ubuntu 24.04 server 64bit\t', user_oslist.Entry(
        'Ubuntu 24.04 server 64bit', 7, None)),
    ('Ubuntu\t24.04\t64bit', '3 tab-separated columns'),
    ('\tnote without OS', 'no OS before the tab'),
    ('Ubuntu 24.04\x00', 'control character'),
    ('Ubuntu 24.04\x1b[31m', 'control character'),
    ('Ubuntu 24.04 \u202etib46', 'control character'),
    ('Ubuntu 24.04\u2028Debian 12', 'control character'),
]


class TestLines(testtools.TestCase):

    def test_lines(self):
        for line, expected in LINES:
            found = user_oslist.parse_line(line, 7)
            if isinstance(expected, str):
                self.assertIsInstance(found, str, repr(line))
                self.assertIn(expected, found, repr(line))
            else:
                self.assertEqual(expected, found, repr(line))


class TestMalformedFiles(UserListTestCase):

    def test_errors_name_file_and_line(self):
        # (file content, the line named, words of the error).
        for text, line, words in (
                ('# ok\nUbuntu 24.04\ta\tb\n', 2, 'columns'),
                ('CentOS 7.6 64bit\n\n\tx\n', 3, 'no OS'),
                ('Fedora 41\n64bit\n', 2, 'no OS name'),
                ('Fedora 41\n( )\n', 2, 'no OS name'),
                (b'Fedora 41\nFedora \xff 42\n', 2, 'not UTF-8')):
            path = self.write(text, 'bad.tsv')
            e = self.assertRaises(user_oslist.OsListError, self.catalog_of,
                                  path)
            self.assertTrue(str(e).startswith('%s, line %d: ' % (path, line)),
                            str(e))
            self.assertIn(words, str(e))

    def catalog_of(self, path):
        return oslists.OsCatalog(user_list=user_oslist.load(path))

    def test_unreadable_file(self):
        path = os.path.join(self.tmp, 'gone.tsv')
        self.assertOsListError(
            'The OS list %s cannot be read: No such file or directory.' %
            path, user_oslist.load, path)

    def test_byte_order_mark_and_empty_file(self):
        path = self.write('\ufeffFedora 41\n', 'bom.tsv')
        self.assertEqual(['Fedora 41'], [
            e.spelling for e in user_oslist.load(path).entries])
        self.assertEqual((), user_oslist.load(self.write('', 'e.tsv')).entries)


class TestVouchAdvice(testtools.TestCase):

    def test_names_the_list_in_use(self):
        used = user_oslist.UserOsList('/etc/os-list.tsv', [])
        self.assertIn('the user OS list /etc/os-list.tsv',
                      user_oslist.vouch_advice(used))

    def test_names_every_way_without_a_list(self):
        text = user_oslist.vouch_advice(environ={'HOME': '/home/op'})
        for part in ('--os-list FILE', 'OTC_DETACH_OS_LIST',
                     '/home/op/.config/otcclient-detach/os-list.tsv',
                     '__os_version'):
            self.assertIn(part, text)
