"""The user OS list: OSs an operator checked and vouches for.

OTC's lists of OSs that allow a detach from a running ECS age (no image
newer than the lists is on them).  An operator who checked an OS adds it
to a user OS list, a text file (``doc/source/os-list.rst``)::

    # OS as its images report it in __os_version <TAB> optional note
    Ubuntu 24.04 server 64bit<TAB>checked by ops, 2026-11-02

The file is found in this order: the command's ``--os-list``, the
environment variable ``OTC_DETACH_OS_LIST``, then
``$XDG_CONFIG_HOME/otcclient-detach/os-list.tsv`` (``~/.config`` when
``XDG_CONFIG_HOME`` is unset or not absolute).  A file named by the
option or the variable must exist; the XDG file may be absent.
"""

import collections
import os
import unicodedata

ENV_VAR = 'OTC_DETACH_OS_LIST'
#: Below the XDG config directory.
CONFIG_PATH = os.path.join('otcclient-detach', 'os-list.tsv')

# Control and format characters, line and paragraph separators: nothing
# a line needs, and what could hide text from a reader.
_INVISIBLE = frozenset(['Cc', 'Cf', 'Zl', 'Zp'])

#: One line of a user OS list: the OS, its line number, the note.
Entry = collections.namedtuple('Entry', 'spelling line note')


class OsListError(Exception):
    """A user OS list that is missing, unreadable or malformed."""


class UserOsList(object):
    """The entries of one user OS list file."""

    def __init__(self, path, entries):
        self.path = path
        self.entries = tuple(entries)

    def source_of(self, entry):
        """Where ``entry`` is written, for refusals and ``-v``."""
        text = 'user OS list %s, line %d' % (self.path, entry.line)
        if entry.note:
            text += ' (%s)' % entry.note
        return text


def xdg_path(environ):
    """``$XDG_CONFIG_HOME/otcclient-detach/os-list.tsv``, or in ~/.config.

    The XDG base directory spec ignores a relative XDG_CONFIG_HOME.
    """
    base = environ.get('XDG_CONFIG_HOME') or ''
    if not os.path.isabs(base):
        home = environ.get('HOME') or os.path.expanduser('~')
        base = os.path.join(home, '.config')
    return os.path.join(base, CONFIG_PATH)


def find(user_file=None, environ=None):
    """The absolute path of the user OS list to use, or None.

    ``user_file`` (``--os-list``) comes first, then ``OTC_DETACH_OS_LIST``
    in ``environ``, then the XDG file; with ``environ`` None only
    ``user_file`` is looked at.  A file named by the option or the
    variable that is not there raises :class:`OsListError`.
    """
    from_env = environ.get(ENV_VAR) if environ is not None else None
    for path, how in ((user_file, '--os-list'), (from_env, ENV_VAR)):
        if path:
            path = os.path.abspath(os.path.expanduser(path))
            if not os.path.isfile(path):
                raise OsListError(
                    'The OS list %s (%s) %s.' % (path, how, (
                        'is not a file' if os.path.exists(path)
                        else 'does not exist')))
            return path
    if environ is None:
        return None
    path = os.path.abspath(xdg_path(environ))
    if os.path.exists(path) and not os.path.isfile(path):
        raise OsListError('The OS list %s (XDG config) is not a file.' %
                          path)
    return path if os.path.exists(path) else None


def load(path):
    """The :class:`UserOsList` in ``path``; :class:`OsListError` if bad."""
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except OSError as e:
        raise OsListError('The OS list %s cannot be read: %s.' % (
            path, e.strerror or e))
    try:
        text = data.decode('utf-8-sig')
    except UnicodeDecodeError as e:
        raise OsListError('%s, line %d: not UTF-8 text.' % (
            path, data[:e.start].count(b'\n') + 1))
    entries = []
    for number, line in enumerate(text.split('\n'), 1):
        entry = parse_line(line.rstrip('\r'), number)
        if isinstance(entry, str):
            raise OsListError('%s, line %d: %s.' % (path, number, entry))
        if entry is not None:
            entries.append(entry)
    return UserOsList(path, entries)


def parse_line(line, number):
    """An :class:`Entry`, None (blank or comment) or what is wrong."""
    if not line.strip() or line.lstrip().startswith('#'):
        return None
    if any(unicodedata.category(c) in _INVISIBLE and c != '\t'
           for c in line):
        return 'a control character; a line holds an OS and a note only'
    columns = line.split('\t')
    if len(columns) > 2:
        return ('%d tab-separated columns; a line holds an OS and, after '
                'one tab, a note' % len(columns))
    spelling = columns[0].strip()
    if not spelling:
        return 'no OS before the tab'
    note = columns[1].strip() if len(columns) == 2 else ''
    return Entry(' '.join(spelling.split()), number, note or None)


def vouch_advice(user_list=None, environ=None):
    """How an operator adds an OS they checked, naming the file in use."""
    if user_list is not None:
        where = 'to the user OS list %s' % user_list.path
    else:
        where = 'to a user OS list (--os-list FILE, %s or %s)' % (
            ENV_VAR, xdg_path(environ or {'HOME': '~'}))
    return ('if you have checked that this OS detaches disks safely while '
            'running, add its __os_version %s' % where)
