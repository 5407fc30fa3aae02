"""OTC's lists of OSs that allow detaching a disk from a running ECS.

The lists ship as data files next to this module (``data/*.tsv``), each
naming its source in its header.  OTC spells the same OS differently in
its lists and in the ``__os_version`` that images report, so strings are
compared by a folded key rather than literally.  OTC's lists age, so an
operator may add the OSs they checked in a user OS list
(:mod:`otcclient_detach.user_oslist`, ``doc/source/os-list.rst``).
"""

import collections
import os
import re

from otcclient_detach import user_oslist

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data')

#: (file name, human name of the list) in the order they are consulted.
SOURCES = (
    ('ims-supported-os.tsv',
     'IMS "External Image File Formats and Supported OSs"'),
    ('seed-table1.tsv',
     'ECS API "Detaching a Disk from an ECS", Table 1'),
)
ALIASES_FILE = 'os-aliases.tsv'

#: An OS found on a list: the list's spelling and where it is written;
#: for a user OS list also the file, the line and the operator's note.
Listed = collections.namedtuple('Listed', 'spelling source path line note',
                                defaults=(None, None, None))

_BITS = re.compile(r'\b(32|64)[\s_-]?bits?\b')
_TOKEN = re.compile(r'[^\s()]+')
# Words that OTC's spellings use or leave out for the same OS.
_NOISE = frozenset(['gnu/linux', 'server'])
_REDHAT_NOISE = frozenset(['linux', 'enterprise'])


def fold(os_string):
    """Return a key under which different spellings of one OS are equal.

    Case, word order, "Red Hat"/"Redhat", "GNU/Linux", "Server" and the
    spelling of the bitness ("64bit", "64 bit", "64-bit") do not matter.
    """
    text = _BITS.sub(r'\1bit', os_string.lower())
    text = text.replace('red hat', 'redhat')
    words = [w for w in _TOKEN.findall(text) if w not in _NOISE]
    if 'redhat' in words:
        words = [w for w in words if w not in _REDHAT_NOISE]
    return tuple(sorted(set(words)))


def _without_bits(key):
    return tuple(w for w in key if not _BITS.fullmatch(w))


def _rows(name):
    with open(os.path.join(DATA_DIR, name), encoding='utf-8') as f:
        for line in f:
            line = line.rstrip('\n')
            if line.strip() and not line.startswith('#'):
                yield line.split('\t')


def full_name(family, version):
    """Join a table's two columns into the OS name they mean.

    Some rows repeat the family in the version column ("CentOS 8.5
    64bit"), others give only the number ("7.3 64bit").
    """
    if version[:1].isdigit():
        return '%s %s' % (family, version)
    return version


class OsCatalog(object):
    """Every OS on OTC's lists, and on a user OS list if one is given.

    OTC's lists are consulted first: an OS on both is found with OTC's
    page as its source.  An entry that names no bitness stands for every
    bitness.
    """

    def __init__(self, sources=SOURCES, user_list=None):
        #: The :class:`user_oslist.UserOsList` added, or None.
        self.user_list = user_list
        aliases = {fold(row[0]): row[1] for row in _rows(ALIASES_FILE)}
        self._by_key = {}
        self._by_key_no_bits = {}
        self._any_bits = {}
        for filename, source in sources:
            for family, version in _rows(filename):
                spelling = full_name(family, version)
                self._add(fold(aliases.get(fold(spelling), spelling)),
                          Listed(spelling, source))
        for entry in (user_list.entries if user_list else ()):
            key = fold(entry.spelling)
            if not _without_bits(key):
                raise user_oslist.OsListError(
                    '%s, line %d: no OS name in %r.' % (
                        user_list.path, entry.line, entry.spelling))
            self._add(key, Listed(entry.spelling, user_list.source_of(entry),
                                  user_list.path, entry.line, entry.note))

    def _add(self, key, listed):
        self._by_key.setdefault(key, listed)
        self._by_key_no_bits.setdefault(_without_bits(key), listed)
        if _without_bits(key) == key:
            self._any_bits.setdefault(key, listed)

    def __len__(self):
        return len(self._by_key)

    def match(self, os_string):
        """Return the :class:`Listed` entry for ``os_string``, or None."""
        if not os_string or not os_string.strip():
            return None
        key = fold(os_string)
        if key in self._by_key:
            return self._by_key[key]
        if _without_bits(key) == key:
            # The string names no bitness: any bitness listed will do.
            return self._by_key_no_bits.get(key)
        return self._any_bits.get(_without_bits(key))


_catalogs = {}


def catalog(user_file=None, environ=None):
    """The lists, loaded once per process and user OS list.

    Without arguments, OTC's lists alone.  ``user_file`` (the command's
    ``--os-list``) and ``environ`` (``OTC_DETACH_OS_LIST``, the XDG
    config file) find a user OS list as :func:`user_oslist.find` does;
    its problems raise :class:`user_oslist.OsListError`.
    """
    path = user_oslist.find(user_file, environ)
    if path not in _catalogs:
        _catalogs[path] = OsCatalog(
            user_list=user_oslist.load(path) if path else None)
    return _catalogs[path]
