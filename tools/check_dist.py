#!/usr/bin/env python3
"""Check a built sdist and wheel before they are published.

Both must hold LICENSE, every OS list (``otcclient_detach/data/*.tsv``)
and every simulator scenario (``otcclient_detach/simulator/scenarios/
*.yaml``) that the source tree next to this script has; the wheel's
metadata must carry the SPDX license expression and keep the simulator's
requirements in the ``simulator`` extra.  Prints the archives' sizes.

Usage: ``python tools/check_dist.py DIST_DIR`` (``tox -e package``);
exit 1 with one line per problem.
"""

import email.parser
import glob
import os
import sys
import tarfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: Files every archive must hold, as globs relative to the source tree.
PACKAGE_DATA = ('otcclient_detach/data/*.tsv',
                'otcclient_detach/simulator/scenarios/*.yaml')
#: Importable only with ``pip install 'otcclient-detach[simulator]'``.
SIMULATOR_ONLY = ('werkzeug',)
LICENSE_EXPRESSION = 'Apache-2.0'


def expected_files(root=ROOT):
    """The package data files of the source tree, relative paths."""
    found = []
    for pattern in PACKAGE_DATA:
        matches = sorted(glob.glob(os.path.join(root, pattern)))
        if not matches:
            raise SystemExit('check_dist: nothing matches %s in %s'
                             % (pattern, root))
        found.extend(os.path.relpath(m, root) for m in matches)
    return found


def sdist_problems(names, wanted):
    """What the sdist (member names, each under one top directory) lacks."""
    inside = {name.split('/', 1)[1] for name in names if '/' in name}
    return ['sdist lacks %s' % path for path in ['LICENSE'] + wanted
            if path not in inside]


def wheel_problems(names, metadata, wanted):
    """What the wheel (member names, METADATA text) lacks or gets wrong."""
    problems = ['wheel lacks %s' % path for path in wanted
                if path not in names]
    if not any(name.endswith('.dist-info/licenses/LICENSE')
               for name in names):
        problems.append('wheel lacks LICENSE (*.dist-info/licenses/)')
    meta = email.parser.Parser().parsestr(metadata)
    if meta.get('License-Expression') != LICENSE_EXPRESSION:
        problems.append('wheel metadata: License-Expression is %r, not %r'
                        % (meta.get('License-Expression'),
                           LICENSE_EXPRESSION))
    for classifier in meta.get_all('Classifier') or []:
        if classifier.startswith('License ::'):
            problems.append('wheel metadata: deprecated classifier %r'
                            % classifier)
    if 'simulator' not in (meta.get_all('Provides-Extra') or []):
        problems.append('wheel metadata: no extra "simulator"')
    for requirement in meta.get_all('Requires-Dist') or []:
        name = requirement.split(';')[0].strip().lower()
        if (name.startswith(SIMULATOR_ONLY) and
                'extra == "simulator"' not in requirement):
            problems.append('wheel metadata: %r outside the simulator extra'
                            % requirement)
    return problems


def only(dist_dir, suffix):
    found = glob.glob(os.path.join(dist_dir, '*' + suffix))
    if len(found) != 1:
        raise SystemExit('check_dist: want one *%s in %s, found %s'
                         % (suffix, dist_dir, found or 'none'))
    return found[0]


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print('usage: python tools/check_dist.py DIST_DIR', file=sys.stderr)
        return 2
    wanted = expected_files()
    sdist = only(argv[0], '.tar.gz')
    wheel = only(argv[0], '.whl')
    with tarfile.open(sdist) as tar:
        problems = sdist_problems(tar.getnames(), wanted)
    with zipfile.ZipFile(wheel) as whl:
        metadata = [n for n in whl.namelist()
                    if n.endswith('.dist-info/METADATA')]
        problems += wheel_problems(
            whl.namelist(),
            whl.read(metadata[0]).decode('utf-8') if metadata else '',
            wanted)
    for path in (sdist, wheel):
        print('%s: %.1f KiB' % (os.path.basename(path),
                                os.path.getsize(path) / 1024.0))
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print('sdist and wheel hold LICENSE and %d data files: %s'
              % (len(wanted), ', '.join(wanted)))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
