#!/usr/bin/env python3
"""Extract OTC's documented example responses into conformance test data.

For every API of ``tests/conformance/otc_apis.yaml`` this reads the
page's reStructuredText from a local clone of its
``opentelekomcloud-docs`` repository (as ``fetch`` leaves them, or any
``git clone``), takes the example response (the JSON of the "Example
Response" section) and the response tables (parameter and type of each
row), and writes ``tests/conformance/otc_examples/<api>.json`` with the
repository, path and commit it read.  Nothing of the repositories is
copied besides that.

Usage::

    tools/otc_examples.py MIRROR_DIR [API ...]

MIRROR_DIR holds one git directory per repository, named
``opentelekomcloud-docs+<repo>/repo`` (the fetch tool's layout) or
``<repo>`` (a bare or normal clone).
"""

import json
import os
import re
import subprocess
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
CONFORMANCE = os.path.join(HERE, os.pardir, 'tests', 'conformance')
MANIFEST = os.path.join(CONFORMANCE, 'otc_apis.yaml')
OUT_DIR = os.path.join(CONFORMANCE, 'otc_examples')
ORG = 'opentelekomcloud-docs'
DOCS = 'https://docs.otc.t-systems.com/'

_HEADING_RE = re.compile(r'^(=+|-+|\^+|~+)$')


def git_dir(mirror, repo):
    for candidate in (os.path.join(mirror, '%s+%s' % (ORG, repo), 'repo'),
                      os.path.join(mirror, repo, '.git'),
                      os.path.join(mirror, repo)):
        if os.path.isdir(candidate):
            return candidate
    raise SystemExit('no clone of %s/%s under %s' % (ORG, repo, mirror))


def git(gitdir, *args):
    return subprocess.run(('git', '--git-dir', gitdir) + args, check=True,
                          capture_output=True, text=True).stdout


def _indent(line):
    return len(line) - len(line.lstrip())


def code_blocks(body):
    """The text of each ``.. code-block::`` in ``body``."""
    blocks, i = [], 0
    while i < len(body):
        line = body[i].strip()
        if line.startswith('.. code-block::') or line.endswith('::'):
            depth = _indent(body[i])
            i += 1
            block = []
            while i < len(body) and (not body[i].strip() or
                                     _indent(body[i]) > depth):
                block.append(body[i])
                i += 1
            blocks.append('\n'.join(block).strip('\n'))
            continue
        i += 1
    return blocks


def _dedent(text):
    import textwrap
    return textwrap.dedent(text).strip()


# Slips seen in OTC's examples, each repaired and recorded.
_REPAIRS = (
    ('missing comma between members',
     re.compile(r'(["\d\]}]|true|false|null)(\s*\n\s*)(")'), r'\1,\2\3'),
    ('missing comma between objects',
     re.compile(r'(})(\s*\n\s*)({)'), r'\1,\2\3'),
    ('trailing comma', re.compile(r',(\s*[}\]])'), r'\1'),
)


def parse_example(text):
    """The JSON of an example, and the repairs it needed."""
    text = _dedent(text)
    start = min([p for p in (text.find('{'), text.find('['))
                 if p >= 0] or [0])
    text = text[start:]
    try:
        return json.loads(text), []
    except ValueError:
        pass
    repairs = []
    for what, regex, repl in _REPAIRS:
        fixed = regex.sub(repl, text)
        if fixed != text:
            repairs.append(what)
            text = fixed
    return json.loads(text), repairs


def _grid_rows(block):
    """(cells...) of each row of a grid table, cell lines joined."""
    rows, current = [], None
    for line in block:
        line = line.strip()
        if line.startswith('+'):
            if current:
                rows.append(current)
            current = None
            continue
        if not line.startswith('|'):
            continue
        cells = [c.strip() for c in line.strip('|').split('|')]
        if current is None:
            current = [[] for _ in cells]
        for col, cell in zip(current, cells):
            if cell:
                col.append(cell)
    if current:
        rows.append(current)
    return [[' '.join(c) for c in row] for row in rows]


def _simple_rows(block):
    """(cells...) of each row of a simple table (``===`` borders)."""
    border = next(line for line in block if line.strip().startswith('='))
    spans = [m.span() for m in re.finditer(r'=+', border)]
    rows = []
    for line in block:
        if not line.strip() or line.strip().startswith('='):
            continue
        cells = [line[a:b if i + 1 < len(spans) else None].strip()
                 for i, (a, b) in enumerate(spans)]
        if cells[0] or not rows:
            rows.append(cells)
        else:
            rows[-1] = [' '.join(filter(None, p)) for p in zip(rows[-1],
                                                               cells)]
    return rows


_SIMPLE_BORDER_RE = re.compile(r'^=+(\s+=+)+$')


def tables(body):
    """Each grid or simple table of ``body`` as rows of cells."""
    out, i = [], 0
    while i < len(body):
        line = body[i].strip()
        if line.startswith('+-') or line.startswith('+='):
            block = []
            while i < len(body) and body[i].strip()[:1] in ('+', '|'):
                block.append(body[i])
                i += 1
            out.append(_grid_rows(block))
            continue
        if _SIMPLE_BORDER_RE.match(line):
            block, borders = [], 0
            while i < len(body) and borders < 3:
                if _SIMPLE_BORDER_RE.match(body[i].strip()):
                    borders += 1
                block.append(body[i])
                i += 1
            out.append(_simple_rows(block))
            continue
        i += 1
    return [rows for rows in out if rows]


def response_fields(body):
    """{parameter: [OTC types]} of the response tables in ``body``."""
    fields = {}
    for rows in tables(body):
        header = [c.lower() for c in rows[0]]
        if 'parameter' not in header or 'type' not in header:
            continue
        name_col, type_col = header.index('parameter'), header.index('type')
        for row in rows[1:]:
            name, otc_type = row[name_col].strip(), row[type_col].strip()
            # a row naming a nested table: ":ref:`token <...>`"
            name = re.sub(r':ref:`([^<`]+?)\s*<[^>]*>`', r'\1', name)
            if name and otc_type:
                types = fields.setdefault(name.replace('\\', ''), [])
                if otc_type not in types:
                    types.append(otc_type)
    return fields


_EXAMPLE_RE = re.compile(r'^(-\s+)?(example responses?|response examples?)'
                         r'\b', re.I)
_OTHER_PART_RE = re.compile(r'^-\s+example request', re.I)


def _is_heading(lines, i):
    return (i + 1 < len(lines) and lines[i].strip() and
            _HEADING_RE.match(lines[i + 1]) is not None and
            len(lines[i + 1]) >= len(lines[i].rstrip()))


def example_parts(lines):
    """The lines of each part of the page that shows example responses.

    OTC's pages put them under a heading ("Example Response") or a
    bullet ("-  Example response") that ends at the next heading or at
    an example request.
    """
    parts, current = [], None
    for i, line in enumerate(lines):
        text = line.strip()
        if _EXAMPLE_RE.match(text) and len(text) < 80:
            current = []
            parts.append(current)
        elif _is_heading(lines, i) or _OTHER_PART_RE.match(text):
            current = None
        elif current is not None:
            current.append(line)
    return parts


def extract(text, example_index=0):
    """The example response and response tables of one API page."""
    lines = text.splitlines()
    found = []
    for part in example_parts(lines):
        for block in code_blocks(part):
            try:
                found.append(parse_example(block))
            except ValueError:
                continue
    # the response tables: everything from the first "Response..."
    # heading on (tables without Parameter and Type columns are skipped)
    start = next((i for i in range(len(lines)) if _is_heading(lines, i) and
                  lines[i].strip().lower().startswith('response')),
                 len(lines))
    fields = response_fields(lines[start:])
    if not found:
        raise ValueError('no example response')
    example, repairs = found[example_index]
    return example, repairs, fields


def page_url(repo, path):
    """The page on docs.otc.t-systems.com built from ``path``."""
    page = re.sub(r'^api-ref/source/', 'api-ref/', path)
    return DOCS + '%s/%s' % (repo, re.sub(r'\.rst$', '.html', page))


def main(argv):
    if not argv:
        raise SystemExit(__doc__)
    mirror, wanted = argv[0], set(argv[1:])
    with open(MANIFEST) as fh:
        apis = yaml.safe_load(fh)
    os.makedirs(OUT_DIR, exist_ok=True)
    for name, api in sorted(apis.items()):
        if wanted and name not in wanted:
            continue
        doc = api['doc']
        gitdir = git_dir(mirror, doc['repo'])
        commit = git(gitdir, 'rev-parse', 'HEAD').strip()
        text = git(gitdir, 'show', '%s:%s' % (commit, doc['path']))
        example, repairs, fields = extract(text, doc.get('example', 0))
        # pages whose tables the API's page refers to for its objects
        for extra in doc.get('tables', ()):
            fields.update(response_fields(
                git(gitdir, 'show', '%s:%s' % (commit, extra)).splitlines()))
        data = {'source': {'repository': '%s/%s' % (ORG, doc['repo']),
                           'path': doc['path'], 'commit': commit,
                           'page': page_url(doc['repo'], doc['path'])},
                'repairs': repairs, 'example': example, 'fields': fields}
        with open(os.path.join(OUT_DIR, name + '.json'), 'w') as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
            fh.write('\n')
        print('%-28s %s%s' % (name, doc['path'],
                              ' (repaired: %s)' % ', '.join(repairs)
                              if repairs else ''))


if __name__ == '__main__':
    main(sys.argv[1:])
