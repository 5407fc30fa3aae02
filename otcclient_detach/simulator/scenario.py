"""Load and validate scenario files (YAML or JSON).

A scenario is the whole starting state of the simulated cloud.  It is
checked once at load time and turned into a normalised dict in which
every optional key has its default, so the rest of the simulator never
has to guess; :func:`build` makes the typed records (records.py) the
state starts from.  The format is documented in doc/source/simulator.rst.
"""

import collections
import copy
import json
import os
import re

from otcclient_detach.simulator import ids
from otcclient_detach.simulator import records

DEFAULT_SCENARIO = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), 'scenarios', 'demo.yaml')

DEFAULT_DOMAIN = 'OTC00000000001000000001'
DEFAULT_TIMINGS = {
    'detach_seconds': 1.0,
    'stop_seconds': 1.0,
    'start_seconds': 1.0,
    'token_seconds': 86400.0,
    'snapshot_seconds': 1.0,
}
# Nova's [api]max_limit and cinder's osapi_max_limit: the page size.
DEFAULT_PAGE_SIZE = 1000
# KMS key_state values (describe-key), by the names scenarios may use.
KEY_STATES = {
    'pending-activation': '1',
    'enabled': '2',
    'disabled': '3',
    'pending-deletion': '4',
    'pending-import': '5',
}
HYPERVISORS = ('kvm', 'xen')
# What nova reports for each server status (vm_state, power_state).
SERVER_STATES = {
    'ACTIVE': ('active', 1),
    'SHUTOFF': ('stopped', 4),
    'ERROR': ('error', 0),
    'BUILD': ('building', 0),
    'REBOOT': ('active', 1),
    'HARD_REBOOT': ('active', 1),
    'REBUILD': ('active', 1),
    'MIGRATING': ('active', 1),
    'RESIZE': ('active', 1),
    'VERIFY_RESIZE': ('resized', 1),
    'REVERT_RESIZE': ('resized', 1),
    'PAUSED': ('paused', 3),
    'SUSPENDED': ('suspended', 7),
    'SHELVED': ('shelved', 4),
    'SHELVED_OFFLOADED': ('shelved_offloaded', 4),
    'UNKNOWN': ('error', 0),
}
VOLUME_STATUSES = (
    'available', 'in-use', 'detaching', 'attaching', 'creating', 'error',
    'error_detaching', 'deleting', 'error_deleting', 'extending',
    'maintenance', 'reserved', 'backing-up', 'restoring-backup',
    'downloading', 'uploading', 'retyping')
VOLUME_TYPES = ('SATA', 'SAS', 'SSD', 'GPSSD', 'ESSD', 'co-p1', 'uh-l1')
# OTC flavor names encode their size: <family>.<size>.<RAM per vCPU>.
_FLAVOR_RE = re.compile(r'^[a-z][a-z0-9]*\.(medium|large|[0-9]*xlarge)'
                        r'\.([0-9]+)$')
_FLAVOR_CPUS = {'medium': 1, 'large': 2, 'xlarge': 4}
# BMS flavors: physical.<family>.<size> (BMS API reference examples:
# physical.o2.medium, physical.s2.medium); the example's CPU and RAM.
_BMS_FLAVOR_RE = re.compile(r'^physical\.[a-z0-9]+\.'
                            r'(medium|large|[0-9]*xlarge)$')
BMS_FLAVOR_SPECS = (32, 193047)
DEFAULT_BMS_FLAVOR = 'physical.o2.medium'
# What a server's ``kind`` may be: an ECS or a bare metal server.
SERVER_KINDS = ('ecs', 'bms')
# The BMS marker: metadata ``metering.resourcetype`` and the tag (BMS
# API reference, "Querying Details About a BMS", Table 10 and example).
BMS_RESOURCE_TYPE = '__type_baremetal'
_DEFAULT_CREATED = '2024-01-15T08:00:00Z'


class ScenarioError(ValueError):
    """The scenario is malformed; the message says where and why."""


def load(source=None):
    """Return the normalised scenario for a path, dict or None (demo)."""
    if source is None:
        source = DEFAULT_SCENARIO
    if isinstance(source, dict):
        raw = copy.deepcopy(source)
    else:
        raw = _read_file(os.fspath(source))
    return normalise(raw)


def _read_file(path):
    try:
        with open(path, encoding='utf-8') as fh:
            text = fh.read()
    except OSError as exc:
        raise ScenarioError('cannot read scenario %s: %s' % (path, exc))
    try:
        if path.endswith('.json'):
            data = json.loads(text)
        else:
            import yaml  # only needed for YAML scenarios
            # libyaml's safe loader where PyYAML has it: parsing the demo
            # scenario in pure Python costs every simulator ~80 ms.
            data = yaml.load(text, Loader=getattr(yaml, 'CSafeLoader',
                                                  yaml.SafeLoader))
    except Exception as exc:  # JSONDecodeError or yaml.YAMLError
        raise ScenarioError('%s: cannot parse: %s' % (path, exc))
    if not isinstance(data, dict):
        raise ScenarioError('%s: the top level must be a mapping' % path)
    return data


# -- small checkers ---------------------------------------------------------

def _keys(obj, where, allowed, required=()):
    if not isinstance(obj, dict):
        raise ScenarioError('%s: expected a mapping, got %r' % (where, obj))
    unknown = sorted(set(obj) - set(allowed))
    if unknown:
        raise ScenarioError('%s: unknown key(s) %s; allowed: %s' % (
            where, ', '.join(unknown), ', '.join(sorted(allowed))))
    for key in required:
        if obj.get(key) in (None, ''):
            raise ScenarioError('%s: missing required key %r' % (where, key))
    return obj


def _str(value, where, allow_none=False):
    if value is None and allow_none:
        return None
    if not isinstance(value, str) or not value:
        raise ScenarioError('%s: expected a non-empty string, got %r'
                            % (where, value))
    return value


def _bool(value, where):
    if not isinstance(value, bool):
        raise ScenarioError('%s: expected true or false, got %r'
                            % (where, value))
    return value


def _number(value, where):
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or value < 0:
        raise ScenarioError('%s: expected a number >= 0, got %r'
                            % (where, value))
    return float(value)


def _list(value, where):
    if value is None:
        return []
    if not isinstance(value, list):
        raise ScenarioError('%s: expected a list, got %r' % (where, value))
    return value


def _str_map(value, where):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ScenarioError('%s: expected a mapping, got %r' % (where, value))
    out = {}
    for key, val in value.items():
        if isinstance(val, bool):
            val = 'true' if val else 'false'  # OpenStack metadata is text
        elif isinstance(val, (int, float)):
            val = str(val)
        elif not isinstance(val, str):
            raise ScenarioError('%s.%s: values must be strings, got %r'
                                % (where, key, val))
        out[str(key)] = val
    return out


def _occurrence(seen, kind, name):
    seen[(kind, name)] = seen.get((kind, name), 0) + 1
    return seen[(kind, name)]


# -- sections ---------------------------------------------------------------

def normalise(raw):
    """Validate ``raw`` and return a complete scenario dict."""
    _keys(raw, 'scenario', (
        'project', 'region', 'availability_zone', 'users',
        'compute_version', 'timings', 'flavors', 'images', 'servers',
        'volumes', 'description', 'kms', 'page_size', 'faults',
        'rate_limits'))
    out = {'description': raw.get('description') or ''}
    out['region'] = _str(raw.get('region', 'eu-de'), 'region')
    out['availability_zone'] = _str(
        raw.get('availability_zone', out['region'] + '-01'),
        'availability_zone')
    version = raw.get('compute_version', 'v2.1')
    if version not in ('v2.1', 'v2'):
        raise ScenarioError("compute_version: must be 'v2.1' or 'v2', got %r"
                            % (version,))
    out['compute_version'] = version
    out['timings'] = _timings(raw.get('timings'))
    out['users'] = _users(raw.get('users'))
    out['project'] = _project(raw.get('project'), out)
    out['page_size'] = _page_size(raw.get('page_size'))
    out['kms'] = _kms(raw.get('kms'))
    out['faults'] = _faults(raw.get('faults'))
    out['rate_limits'] = _rate_limits(raw.get('rate_limits'))
    out['images'] = _images(raw.get('images'))
    out['flavors'] = _flavors(raw.get('flavors'))
    out['servers'] = _servers(raw.get('servers'), out)
    out['volumes'] = _volumes(raw.get('volumes'), out)
    return out


#: The records a scenario starts with (see :func:`build`).
Built = collections.namedtuple(
    'Built', 'users project images keys servers volumes snapshots')


def build(sc):
    """The records (records.py) of a validated scenario, fresh copies."""
    servers = []
    for data in sc['servers']:
        vm_state, power = SERVER_STATES[data['status']]
        servers.append(records.Server.from_scenario(
            data, vm_state=vm_state, power_state=power,
            updated=data['created']))
    return Built(
        users=[records.User.from_scenario(u) for u in sc['users']],
        project=records.Project.from_scenario(sc['project']),
        images=[records.Image.from_scenario(i) for i in sc['images']],
        keys=[records.Key.from_scenario(k) for k in sc['kms']['keys']],
        servers=servers,
        volumes=[records.Volume.from_scenario(
            {k: v for k, v in vol.items() if k != 'snapshots'})
            for vol in sc['volumes']],
        snapshots=[records.Snapshot(
            volume_id=vol['id'], size=vol['size'], updated_at=None,
            metadata={}, fails=False, due=0.0, **snap)
            for vol in sc['volumes'] for snap in vol['snapshots']])


def _page_size(raw):
    """Page sizes of server and volume lists (nova/cinder max_limit)."""
    sizes = {'servers': DEFAULT_PAGE_SIZE, 'volumes': DEFAULT_PAGE_SIZE}
    if raw is None:
        return sizes
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = {'servers': raw, 'volumes': raw}
    _keys(raw, 'page_size', sizes)
    for key, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, int) \
                or value < 1:
            raise ScenarioError('page_size.%s: expected an integer >= 1, '
                                'got %r' % (key, value))
        sizes[key] = value
    return sizes


def key_state(value, where):
    """A KMS key_state "1".."5" from a digit or a KEY_STATES name."""
    value = str(value)
    if value in KEY_STATES.values():
        return value
    if value in KEY_STATES:
        return KEY_STATES[value]
    raise ScenarioError('%s: %r is not a key state (%s, or "1".."5")'
                        % (where, value, ', '.join(KEY_STATES)))


def _kms(raw):
    """KMS: whether the catalog lists it, and its keys (CMKs)."""
    raw = raw or {}
    _keys(raw, 'kms', ('in_catalog', 'keys'))
    keys, aliases = [], set()
    for i, key in enumerate(_list(raw.get('keys'), 'kms.keys')):
        where = 'kms.keys[%d]' % i
        _keys(key, where, ('alias', 'id', 'state', 'description'),
              required=('alias',))
        alias = _str(key['alias'], where + '.alias')
        if alias in aliases:
            raise ScenarioError('%s: duplicate key alias %r' % (where, alias))
        aliases.add(alias)
        keys.append({
            'alias': alias,
            'id': _str(key.get('id') or ids.sim_id('kms-key', alias),
                       where + '.id'),
            'state': key_state(key.get('state', 'enabled'),
                               where + '.state'),
            'description': key.get('description') or ''})
    _unique_ids(keys, 'kms.keys')
    return {'in_catalog': _bool(raw.get('in_catalog', True),
                                'kms.in_catalog'),
            'keys': keys}


def _faults(raw):
    """Fault rules to install at start (checked by faults.FaultRule)."""
    from otcclient_detach.simulator import faults as faults_mod
    out = []
    for i, spec in enumerate(_list(raw, 'faults')):
        where = 'faults[%d]' % i
        _keys(spec, where, faults_mod.FAULT_KEYS)
        try:
            faults_mod.FaultRule(**faults_mod.apply_preset(spec))
        except (TypeError, ValueError) as exc:
            raise ScenarioError('%s: %s' % (where, exc))
        out.append(dict(spec))
    return out


def _rate_limits(raw):
    """Flow-control rules (checked by ratelimit.RateLimit)."""
    from otcclient_detach.simulator import ratelimit
    out = []
    for i, spec in enumerate(_list(raw, 'rate_limits')):
        where = 'rate_limits[%d]' % i
        _keys(spec, where, ratelimit.RATE_LIMIT_KEYS, required=('rate',))
        try:
            ratelimit.RateLimit(**spec)
        except (TypeError, ValueError) as exc:
            raise ScenarioError('%s: %s' % (where, exc))
        out.append(dict(spec))
    return out


def _timings(raw):
    timings = dict(DEFAULT_TIMINGS)
    if raw is None:
        return timings
    _keys(raw, 'timings', DEFAULT_TIMINGS)
    for key, value in raw.items():
        timings[key] = _number(value, 'timings.' + key)
    return timings


def _domain(value, where):
    if value is None:
        value = DEFAULT_DOMAIN
    if isinstance(value, str):
        value = {'name': value}
    _keys(value, where, ('name', 'id'), required=('name',))
    name = _str(value['name'], where + '.name')
    return {'name': name, 'id': value.get('id') or ids.hex_id('domain', name)}


def _users(raw):
    if raw is None:
        raw = [{'name': 'otc-user', 'password': 'otc-password'}]
    users = []
    for i, user in enumerate(_list(raw, 'users')):
        where = 'users[%d]' % i
        _keys(user, where, ('name', 'id', 'password', 'domain',
                            'app_credentials'),
              required=('name', 'password'))
        name = _str(user['name'], where + '.name')
        creds = []
        for j, cred in enumerate(_list(user.get('app_credentials'),
                                       where + '.app_credentials')):
            cwhere = '%s.app_credentials[%d]' % (where, j)
            _keys(cred, cwhere, ('id', 'name', 'secret'),
                  required=('secret',))
            cname = cred.get('name') or '%s-cred-%d' % (name, j + 1)
            creds.append({
                'name': _str(cname, cwhere + '.name'),
                'id': cred.get('id') or ids.hex_id('appcred', cname),
                'secret': _str(cred['secret'], cwhere + '.secret')})
        users.append({
            'name': name,
            'id': user.get('id') or ids.hex_id('user', name),
            'password': _str(user['password'], where + '.password'),
            'domain': _domain(user.get('domain'), where + '.domain'),
            'app_credentials': creds})
    if not users:
        raise ScenarioError('users: at least one user is needed')
    return users


def _project(raw, out):
    raw = raw or {}
    _keys(raw, 'project', ('name', 'id', 'domain'))
    name = _str(raw.get('name', out['region']), 'project.name')
    domain = (_domain(raw['domain'], 'project.domain') if 'domain' in raw
              else dict(out['users'][0]['domain']))
    pid = _str(raw.get('id') or ids.hex_id('project', name), 'project.id')
    return {'name': name, 'id': pid, 'domain': domain}


def os_properties(os_version):
    """IMS properties that OTC derives from an ``__os_version`` string."""
    platform = os_version.split()[0]
    if platform == 'Redhat':
        platform = 'RedHat'
    return {
        '__os_version': os_version,
        '__os_type': 'Windows' if platform == 'Windows' else 'Linux',
        '__platform': platform,
        '__os_bit': '32' if '32bit' in os_version else '64',
        'virtual_env_type': 'FusionCompute',
        '__support_kvm': 'true',
        '__imagetype': 'gold',
    }


def _images(raw):
    images, names = [], set()
    for i, image in enumerate(_list(raw, 'images')):
        where = 'images[%d]' % i
        _keys(image, where, ('name', 'id', 'os_version', 'properties',
                             'min_disk', 'size', 'status', 'disk_format',
                             'visibility'), required=('name',))
        name = _str(image['name'], where + '.name')
        if name in names:
            raise ScenarioError('%s: duplicate image name %r' % (where, name))
        names.add(name)
        props = {}
        if image.get('os_version'):
            props.update(os_properties(
                _str(image['os_version'], where + '.os_version')))
        props.update(_str_map(image.get('properties'), where + '.properties'))
        images.append({
            'name': name,
            'id': image.get('id') or ids.sim_id('image', name),
            'properties': props,
            'min_disk': int(_number(image.get('min_disk', 40),
                                    where + '.min_disk')),
            'size': int(_number(image.get('size', 0), where + '.size')),
            'status': image.get('status', 'active'),
            'disk_format': image.get('disk_format', 'zvhd2'),
            'visibility': image.get('visibility', 'public')})
    return images


def flavor_specs(name):
    """Return (vcpus, ram MiB) for an OTC flavor name, or None."""
    if _BMS_FLAVOR_RE.match(name):
        return BMS_FLAVOR_SPECS
    match = _FLAVOR_RE.match(name)
    if not match:
        return None
    size, ratio = match.groups()
    if size in _FLAVOR_CPUS:
        cpus = _FLAVOR_CPUS[size]
    else:
        cpus = 4 * int(size[:-len('xlarge')] or 1)
    return cpus, cpus * int(ratio) * 1024


def _flavors(raw):
    names = ['s3.medium.2', 's3.large.2', 's3.xlarge.2', 'c4.large.2',
             'm3.large.8']
    for i, name in enumerate(_list(raw, 'flavors')):
        _str(name, 'flavors[%d]' % i)
        if flavor_specs(name) is None:
            raise ScenarioError(
                'flavors[%d]: %r is not an OTC flavor name '
                '(<family>.<medium|large|Nxlarge>.<ratio>)' % (i, name))
        if name not in names:
            names.append(name)
    return names


def _image_by_name(out, name, where):
    for image in out['images']:
        if image['name'] == name or image['id'] == name:
            return image
    raise ScenarioError('%s: unknown image %r' % (where, name))


def _server_flavor(srv, out, where, kind):
    """The server's flavor, added to the flavor list; BMSs: physical.*."""
    default = DEFAULT_BMS_FLAVOR if kind == 'bms' else 's3.medium.2'
    flavor = srv.get('flavor', default)
    if flavor_specs(str(flavor)) is None:
        raise ScenarioError('%s.flavor: %r is not an OTC flavor name'
                            % (where, flavor))
    if (kind == 'bms') != bool(_BMS_FLAVOR_RE.match(flavor)):
        raise ScenarioError('%s.flavor: %r: BMSs, and only BMSs, have '
                            'physical.* flavors' % (where, flavor))
    if flavor not in out['flavors']:
        out['flavors'].append(flavor)
    return flavor


def _server_metadata(srv, out, where, kind, flavor):
    """Metadata as ECS shows it: the image's facts, a BMS's markers."""
    metadata = {}
    image = None
    if srv.get('image'):
        image = _image_by_name(out, srv['image'], where + '.image')
        props = image['properties']
        metadata.update({
            'os_type': props.get('__os_type', 'Linux'),
            'image_name': image['name'],
            'metering.image_id': image['id'],
            'metering.imagetype': props.get('__imagetype', 'gold'),
            'os_bit': props.get('__os_bit', '64')})
    if kind == 'bms':
        # BMS API reference, "Querying Details About a BMS", Table 10
        metadata.update({
            'metering.resourcetype': BMS_RESOURCE_TYPE,
            'metering.resourcespeccode': '%s.%s' % (
                flavor, metadata.get('os_type', 'Linux').lower()),
            '__bms_support_evs': 'true'})
    metadata.update(_str_map(srv.get('metadata'), where + '.metadata'))
    return metadata, image


def _root_device(srv, where, kind, hypervisor):
    # Xen ECSs show their system disk as /dev/sda in the API, and so do
    # BMSs ("A disk attached to /dev/sda functions as the system disk").
    default = ('/dev/sda' if kind == 'bms' or hypervisor == 'xen'
               else '/dev/vda')
    root = srv.get('root_device_name', default)
    if root is not None and not str(root).startswith('/dev/'):
        raise ScenarioError('%s.root_device_name: %r does not start with'
                            ' /dev/' % (where, root))
    return root


def _choice(value, where, allowed):
    if value not in allowed:
        raise ScenarioError('%s: %r is not one of %s' % (
            where, value, ', '.join(allowed)))
    return value


def _servers(raw, out):
    servers, seen = [], {}
    for i, srv in enumerate(_list(raw, 'servers')):
        where = 'servers[%d]' % i
        _keys(srv, where, (
            'name', 'id', 'status', 'task_state', 'keep_task_state',
            'locked', 'root_device_name', 'metadata', 'image', 'flavor',
            'availability_zone', 'created', 'key_name', 'description',
            'hypervisor', 'show_root_device_name', 'kind'),
            required=('name',))
        name = _str(srv['name'], where + '.name')
        status = _choice(srv.get('status', 'ACTIVE'), where + '.status',
                         SERVER_STATES)
        kind = _choice(srv.get('kind', 'ecs'), where + '.kind',
                       SERVER_KINDS)
        flavor = _server_flavor(srv, out, where, kind)
        metadata, image = _server_metadata(srv, out, where, kind, flavor)
        hypervisor = _choice(srv.get('hypervisor', 'kvm'),
                             where + '.hypervisor', HYPERVISORS)
        servers.append({
            'name': name,
            'id': srv.get('id') or ids.sim_id(
                'server', name, _occurrence(seen, 'server', name)),
            'status': status,
            'task_state': _str(srv.get('task_state'), where + '.task_state',
                               allow_none=True),
            'keep_task_state': _bool(srv.get('keep_task_state', False),
                                     where + '.keep_task_state'),
            'locked': _bool(srv.get('locked', False), where + '.locked'),
            'root_device_name': _root_device(srv, where, kind, hypervisor),
            'metadata': metadata,
            'image_id': image['id'] if image else None,
            'flavor': flavor,
            'availability_zone': srv.get('availability_zone',
                                         out['availability_zone']),
            'created': srv.get('created', _DEFAULT_CREATED),
            'key_name': srv.get('key_name'),
            'description': srv.get('description'),
            'hypervisor': hypervisor,
            'show_root_device_name': _bool(
                srv.get('show_root_device_name', True),
                where + '.show_root_device_name'),
            'kind': kind,
            # BMSs carry the tag OTC advises (BMS API reference)
            'tags': [BMS_RESOURCE_TYPE] if kind == 'bms' else []})
    _unique_ids(servers, 'servers')
    return servers


def _unique_ids(items, where):
    found = set()
    for i, item in enumerate(items):
        if item['id'] in found:
            raise ScenarioError('%s[%d]: duplicate id %r'
                                % (where, i, item['id']))
        found.add(item['id'])


def _server_ref(out, ref, where):
    matches = [s for s in out['servers'] if ref in (s['id'], s['name'])]
    if not matches:
        raise ScenarioError('%s: unknown server %r' % (where, ref))
    if len(matches) > 1:
        raise ScenarioError('%s: server name %r is ambiguous, use its id'
                            % (where, ref))
    return matches[0]


def _scsi(vol, out, where, attachments):
    """Whether a disk is SCSI (a BMS's are: "BMS supports only SCSI")."""
    on_bms = any(_server_ref(out, a['server_id'], where)['kind'] == 'bms'
                 for a in attachments)
    scsi = _bool(vol.get('scsi', on_bms), where + '.scsi')
    if on_bms and not scsi:
        raise ScenarioError('%s.scsi: a BMS takes SCSI disks only' % where)
    return scsi


def _volume_metadata(vol, out, where, scsi):
    """The metadata, with EVS's keys for ``encryption_key`` and ``scsi``.

    ``hw:passthrough`` "true" is a SCSI disk (EVS API reference).
    """
    metadata = _str_map(vol.get('metadata'), where + '.metadata')
    if scsi:
        metadata['hw:passthrough'] = 'true'
    ref = vol.get('encryption_key')
    if ref is not None:
        found = [k for k in out['kms']['keys'] if ref in (k['alias'],
                                                          k['id'])]
        # An unknown key is allowed as an ID: a key KMS does not know.
        cmkid = found[0]['id'] if found else _str(
            ref, where + '.encryption_key')
        metadata.update({'__system__encrypted': '1',
                         '__system__cmkid': cmkid})
    return metadata


SNAPSHOT_STATUSES = ('available', 'creating', 'error', 'deleting',
                     'error_deleting')


def _volume_snapshots(vol, where, vid):
    """Snapshots a disk starts with: a count, or a list of them."""
    raw = vol.get('snapshots')
    if isinstance(raw, int) and not isinstance(raw, bool):
        if raw < 0:
            raise ScenarioError('%s.snapshots: expected a count >= 0 or a '
                                'list, got %r' % (where, raw))
        raw = [{} for _ in range(raw)]
    snaps = []
    for j, snap in enumerate(_list(raw, where + '.snapshots')):
        swhere = '%s.snapshots[%d]' % (where, j)
        _keys(snap, swhere, ('name', 'id', 'status', 'description',
                             'created_at'))
        name = _str(snap.get('name', '%s-snap-%d' % (vol['name'], j + 1)),
                    swhere + '.name')
        snaps.append({
            'id': snap.get('id') or ids.sim_id('snapshot',
                                               '%s#%d' % (vid, j + 1)),
            'name': name,
            'status': _choice(snap.get('status', 'available'),
                              swhere + '.status', SNAPSHOT_STATUSES),
            'description': snap.get('description'),
            'created_at': snap.get('created_at', _DEFAULT_CREATED)})
    return snaps


def _volumes(raw, out):
    volumes, seen, devices = [], {}, {}
    for i, vol in enumerate(_list(raw, 'volumes')):
        where = 'volumes[%d]' % i
        _keys(vol, where, (
            'name', 'id', 'size', 'bootable', 'multiattach', 'metadata',
            'volume_image_metadata', 'image', 'guest_refuses', 'status',
            'volume_type', 'availability_zone', 'description', 'created_at',
            'attachments', 'encryption_key', 'snapshot_fails', 'scsi',
            'snapshots'),
            required=('name',))
        name = _str(vol['name'], where + '.name')
        vid = vol.get('id') or ids.sim_id(
            'volume', name, _occurrence(seen, 'volume', name))
        vim = {}
        if vol.get('image'):
            image = _image_by_name(out, vol['image'], where + '.image')
            vim.update(image['properties'])
            vim.update({'image_id': image['id'], 'image_name': image['name'],
                        'min_disk': str(image['min_disk']),
                        'size': str(image['size']),
                        'checksum': 'd41d8cd98f00b204e9800998ecf8427e',
                        'container_format': 'bare',
                        'disk_format': image['disk_format']})
        vim.update(_str_map(vol.get('volume_image_metadata'),
                            where + '.volume_image_metadata'))
        multiattach = _bool(vol.get('multiattach', False),
                            where + '.multiattach')
        attachments = []
        for j, att in enumerate(_list(vol.get('attachments'),
                                      where + '.attachments')):
            awhere = '%s.attachments[%d]' % (where, j)
            _keys(att, awhere, ('server', 'device', 'attached_at',
                                'boot_index'),
                  required=('server', 'device'))
            server = _server_ref(out, att['server'], awhere + '.server')
            device = _str(att['device'], awhere + '.device')
            if not device.startswith('/dev/'):
                raise ScenarioError('%s.device: %r does not start with /dev/'
                                    % (awhere, device))
            key = (server['id'], device)
            if key in devices:
                raise ScenarioError('%s: %s of server %s is already used by '
                                    'volume %s' % (awhere, device,
                                                   server['name'],
                                                   devices[key]))
            devices[key] = name
            if any(a['server_id'] == server['id'] for a in attachments):
                raise ScenarioError('%s: volume attached twice to %s'
                                    % (awhere, server['name']))
            attachments.append({
                'server_id': server['id'], 'device': device,
                'id': ids.sim_id('attachment',
                                 '%s@%s' % (vid, server['id'])),
                'attached_at': att.get('attached_at', _DEFAULT_CREATED),
                # OTC was seen reporting bootIndex 0 for data disks too.
                'boot_index': (None if att.get('boot_index') is None
                               else str(att['boot_index']))})
        if len(attachments) > 1 and not multiattach:
            raise ScenarioError('%s: attached to %d servers but multiattach '
                                'is false' % (where, len(attachments)))
        status = vol.get('status')
        if status is not None:
            if status not in VOLUME_STATUSES:
                raise ScenarioError('%s.status: %r is not one of %s' % (
                    where, status, ', '.join(VOLUME_STATUSES)))
            if status == 'in-use' and not attachments or \
                    status == 'available' and attachments:
                raise ScenarioError('%s.status: %r contradicts the '
                                    'attachments' % (where, status))
            if status in ('in-use', 'available'):
                status = None  # derived from the attachments anyway
        vtype = vol.get('volume_type', 'SSD')
        if vtype not in VOLUME_TYPES:
            raise ScenarioError('%s.volume_type: %r is not one of %s' % (
                where, vtype, ', '.join(VOLUME_TYPES)))
        is_root = any(
            a['device'] == _server_ref(out, a['server_id'], where)
            ['root_device_name'] for a in attachments)
        bootable = vol.get('bootable', bool(vim) or is_root)
        volumes.append({
            'name': name,
            'id': vid,
            'size': int(_number(vol.get('size', 40 if bootable else 10),
                                where + '.size')),
            'bootable': _bool(bootable, where + '.bootable'),
            'multiattach': multiattach,
            'metadata': _volume_metadata(
                vol, out, where, _scsi(vol, out, where, attachments)),
            'snapshots': _volume_snapshots(vol, where, vid),
            'snapshot_fails': _bool(vol.get('snapshot_fails', False),
                                    where + '.snapshot_fails'),
            'volume_image_metadata': vim,
            'guest_refuses': _bool(vol.get('guest_refuses', False),
                                   where + '.guest_refuses'),
            'status': status,
            'volume_type': vtype,
            'availability_zone': vol.get('availability_zone',
                                         out['availability_zone']),
            'description': vol.get('description') or '',
            'created_at': vol.get('created_at', _DEFAULT_CREATED),
            'attachments': attachments})
    _unique_ids(volumes, 'volumes')
    return volumes
