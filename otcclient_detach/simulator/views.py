"""JSON shapes of OTC's responses, built from the simulator state."""

import hashlib
import json
import os

from otcclient_detach.simulator import scenario as scenario_mod

_IMS_SCHEMAS = os.path.join(os.path.dirname(__file__), 'ims_schemas.json')
COMPUTE_MIN = (2, 1)
COMPUTE_MAX = (2, 60)
VOLUME_V3_MIN = VOLUME_V3_MAX = (3, 0)


def _ver(version):
    return '%d.%d' % version


def _hexhash(*parts):
    return hashlib.sha224(':'.join(parts).encode()).hexdigest()


def _uuid(*parts):
    """A UUID-shaped ID derived from ``parts``."""
    digits = _hexhash(*parts)
    return '%s-%s-%s-%s-%s' % (digits[:8], digits[8:12], digits[12:16],
                               digits[16:20], digits[20:32])


def cinder_time(stamp):
    """Cinder/EVS print microseconds and no zone: 2024-01-15T08:00:00.0."""
    stamp = stamp.rstrip('Z')
    return stamp if '.' in stamp else stamp + '.000000'


# -- version discovery --------------------------------------------------------

def _version(vid, href, status, version='', min_version='', updated='',
             media='compute+json;version=2'):
    return {'id': vid, 'status': status, 'version': version,
            'min_version': min_version, 'updated': updated,
            # OTC's version documents link OpenStack's docs, as HTML
            'links': [{'rel': 'self', 'href': href}, {
                'rel': 'describedby', 'type': 'text/html',
                'href': 'http://docs.openstack.org/'}],
            'media-types': [{
                'base': 'application/json',
                'type': 'application/vnd.openstack.' + media}]}


def compute_versions(base, listed=False):
    """The compute version documents; ``listed``: as ``GET /`` shows them.

    OTC's "Listing API Versions" shows no ``media-types`` and only the
    ``self`` link; "Querying a Specified API Version" shows all.
    """
    out = [
        _version('v2.0', base + '/v2/', 'SUPPORTED',
                 updated='2011-01-21T11:33:21Z'),
        _version('v2.1', base + '/v2.1/', 'CURRENT', _ver(COMPUTE_MAX),
                 _ver(COMPUTE_MIN), '2013-07-23T11:33:21Z')]
    if listed:
        for version in out:
            del version['media-types']
            version['links'] = version['links'][:1]
    return out


def ecs_v1_version(base):
    return _version('v1', base + '/v1/', 'CURRENT',
                    updated='2016-12-01T00:00:00Z')


def volume_versions(base):
    # cinder's documents, as EVS's "Querying API Versions" shows them
    return [
        _version('v2.0', base + '/v2/', 'SUPPORTED',
                 updated='2014-06-28T12:20:21Z',
                 media='volume+json;version=2'),
        _version('v3.0', base + '/v3/', 'CURRENT', _ver(VOLUME_V3_MAX),
                 _ver(VOLUME_V3_MIN), '2016-02-08T12:20:21Z',
                 media='volume+json;version=3')]


def image_versions(base):
    out = []
    for minor in range(0, 3):
        out.append({'id': 'v2.%d' % minor,
                    'status': 'CURRENT' if minor == 2 else 'SUPPORTED',
                    'links': [{'rel': 'self', 'href': base + '/v2/'}]})
    return list(reversed(out))


def identity_version(base):
    return {'id': 'v3.6', 'status': 'stable',
            'updated': '2016-04-04T00:00:00Z',
            'links': [{'rel': 'self', 'href': base + '/v3/'}],
            'media-types': [{'base': 'application/json',
                             'type': 'application/vnd.openstack.identity-v3'
                                     '+json'}]}


# -- identity -------------------------------------------------------------

def catalog(state, entries):
    """The token's catalog from (type, name, url) entries."""
    out = []
    for stype, name, url in entries:
        out.append({'type': stype, 'name': name, 'id': _hexhash(stype)[:32],
                    'endpoints': [{
                        'id': _hexhash(stype, url)[:32],
                        'interface': 'public', 'region': state.region,
                        'region_id': state.region, 'url': url}]})
    return out


def token(state, entries, rec, token_id):
    from otcclient_detach.simulator.state import isotime
    user = rec.user
    body = {
        'methods': rec.methods,
        'expires_at': isotime(rec.expires, True),
        'issued_at': isotime(rec.issued, True),
        'user': {'id': user.id, 'name': user.name,
                 'domain': dict(user.domain),
                 'password_expires_at': ''},
        'project': {'id': state.project.id,
                    'name': state.project.name,
                    'domain': dict(state.project.domain)},
        'roles': [{'id': _hexhash('role', 'te_admin')[:32],
                   'name': 'te_admin'},
                  {'id': _hexhash('role', 'op_gated')[:32],
                   'name': 'op_gated_ecs'}],
        'catalog': catalog(state, entries),
    }
    if rec.app_cred:
        body['application_credential'] = {
            'id': rec.app_cred.id, 'name': rec.app_cred.name,
            'restricted': True}
    return {'token': body}


# -- compute --------------------------------------------------------------

def _at_least(mv, version):
    # mv is None on the legacy /v2 endpoint, which has no microversions.
    return mv is not None and mv >= version


def flavor(state, base, api, name, mv=COMPUTE_MIN, embedded=False):
    cpus, ram = scenario_mod.flavor_specs(name)
    if embedded and _at_least(mv, (2, 47)):
        return {'original_name': name, 'vcpus': cpus, 'ram': ram,
                'disk': 0, 'ephemeral': 0, 'swap': 0, 'extra_specs': {}}
    pid = state.project.id
    links = [{'rel': 'bookmark',
              'href': '%s/%s/flavors/%s' % (base, pid, name)}]
    if embedded:
        return {'id': name, 'links': links}
    out = {'id': name, 'name': name, 'vcpus': cpus, 'ram': ram, 'disk': 0,
           'swap': '', 'rxtx_factor': 1, 'OS-FLV-EXT-DATA:ephemeral': 0,
           'OS-FLV-DISABLED:disabled': False,
           'os-flavor-access:is_public': True,
           'links': [{'rel': 'self', 'href': '%s/%s/%s/flavors/%s' % (
               base, api, pid, name)}] + links}
    if _at_least(mv, (2, 55)):
        out['description'] = None
    return out


def server_summary(state, base, api, srv):
    return {'id': srv.id, 'name': srv.name,
            'links': _server_links(state, base, api, srv)}


def _links(state, base, api, collection, item_id):
    """The ``self`` and ``bookmark`` links of a nova or cinder item."""
    pid = state.project.id
    path = '%s/%s' % (collection, item_id)
    return [{'rel': 'self', 'href': '%s/%s/%s/%s' % (base, api, pid, path)},
            {'rel': 'bookmark', 'href': '%s/%s/%s' % (base, pid, path)}]


def _server_links(state, base, api, srv):
    return _links(state, base, api, 'servers', srv.id)


def _addresses(state, srv):
    index = list(state.servers).index(srv.id)
    mac = 'fa:16:3e:%s:%s:%s' % tuple(
        _hexhash('mac', srv.id)[i:i + 2] for i in (0, 2, 4))
    return {_uuid('vpc', state.project.id): [{
        'addr': '192.168.0.%d' % (10 + index), 'version': 4,
        'OS-EXT-IPS:type': 'fixed', 'OS-EXT-IPS-MAC:mac_addr': mac}]}


def server_detail(state, base, api, srv, mv):
    host = _hexhash('host', srv.id)[:56]
    index = list(state.servers).index(srv.id)
    # OTC's nova reference (Table 8 of "Querying Details About an ECS"):
    # only "id", and "delete_on_termination" from 2.3.  Devices are in
    # the native API (native_server below).
    volumes = []
    for vol, att in state.server_volumes(srv.id):
        item = {'id': vol.id}
        if _at_least(mv, (2, 3)):
            item['delete_on_termination'] = False
        volumes.append(item)
    launched = cinder_time(srv.created)
    out = {
        'id': srv.id, 'name': srv.name, 'status': srv.status,
        'tenant_id': state.project.id,
        'user_id': state.users[0].id,
        'metadata': dict(srv.metadata),
        'hostId': host,
        # ECSs boot from their system disk: no image, like OTC shows.
        'image': '',
        'flavor': flavor(state, base, api, srv.flavor, mv, True),
        'created': srv.created, 'updated': srv.updated,
        'addresses': _addresses(state, srv),
        'accessIPv4': '', 'accessIPv6': '',
        'links': _server_links(state, base, api, srv),
        'OS-DCF:diskConfig': 'MANUAL',
        'progress': 0,
        'key_name': srv.key_name,
        'config_drive': '',
        'OS-EXT-AZ:availability_zone': srv.availability_zone,
        'OS-EXT-SRV-ATTR:host': host[:16],
        'OS-EXT-SRV-ATTR:hypervisor_hostname': host[16:32],
        'OS-EXT-SRV-ATTR:instance_name': 'instance-%08x' % (0x1000 + index),
        'OS-EXT-STS:task_state': srv.task_state,
        'OS-EXT-STS:vm_state': srv.vm_state,
        'OS-EXT-STS:power_state': srv.power_state,
        'OS-SRV-USG:launched_at': launched,
        'OS-SRV-USG:terminated_at': None,
        'os-extended-volumes:volumes_attached': volumes,
        'security_groups': [{'name': 'default'}],
    }
    if _at_least(mv, (2, 3)):
        out.update({
            'OS-EXT-SRV-ATTR:root_device_name': (
                srv.root_device_name if srv.show_root_device_name
                else None),
            'OS-EXT-SRV-ATTR:hostname': srv.name,
            'OS-EXT-SRV-ATTR:reservation_id': 'r-%s' % host[:8],
            'OS-EXT-SRV-ATTR:launch_index': 0,
            'OS-EXT-SRV-ATTR:kernel_id': '',
            'OS-EXT-SRV-ATTR:ramdisk_id': '',
            'OS-EXT-SRV-ATTR:user_data': None})
    if _at_least(mv, (2, 9)):
        out['locked'] = srv.locked
    if _at_least(mv, (2, 19)):
        out['description'] = srv.description
    if _at_least(mv, (2, 26)):
        out['tags'] = list(srv.tags)
    return out


def _native_flavor(name):
    """The flavor of a native server: numbers as strings, like OTC."""
    cpus, ram = scenario_mod.flavor_specs(name)
    return {'id': name, 'name': name, 'disk': '0', 'vcpus': str(cpus),
            'ram': str(ram), 'asic_accelerators': []}


def _native_addresses(state, srv):
    out = {}
    for net, ports in _addresses(state, srv).items():
        out[net] = [dict(port, version=str(port['version']), primary=True,
                         **{'OS-EXT-IPS:port_id': _uuid('port', srv.id)})
                    for port in ports]
    return out


# Fields of OTC's native server that the simulator has no use for, with
# the values of OTC's example ("Querying Details About an ECS").
_NATIVE_DEFAULTS = {
    'host_status': 'UP', 'os:scheduler_hints': {}, 'fault': None,
    'hypervisor': None, 'auto_terminate_time': '',
    'cpu_options': {'hw:cpu_threads': None},
    'enclave_options': {'enabled': False},
    'capacity_reservation_id': None,
    'capacity_reservation_specification': {'id': None, 'preference': None},
    'security_options': {'tpm_enabled': None}, 'spod_id': None,
    'sys_tags': [{'key': '_sys_enterprise_project_id', 'value': '0'}],
}


# What only the single server's page shows (not the list's).
_SHOWN_ONLY = ('hypervisor', 'auto_terminate_time', 'cpu_options',
               'enclave_options', 'capacity_reservation_id',
               'capacity_reservation_specification', 'security_options',
               'spod_id')


def native_listed_server(state, base, srv):
    """A server of the native list, as "Listing Details About ECSs"."""
    out = native_server(state, base, srv)
    for key in _SHOWN_ONLY:
        del out[key]
    del out['flavor']['asic_accelerators']
    for ports in out['addresses'].values():
        for port in ports:
            del port['primary']
    return out


def native_server(state, base, srv):
    """The native ECS v1 server (``GET /v1/{project_id}/cloudservers``).

    As OTC's ECS API reference "Querying Details About an ECS" (native
    API) shows it: the nova fields, with ``flavor`` numbers and address
    versions as strings, ``image`` an object, and
    ``os-extended-volumes:volumes_attached`` entries with ``id``,
    ``delete_on_termination``, ``device`` and ``bootIndex`` ("0" for the
    system disk), all strings.
    """
    out = server_detail(state, base, 'v2.1', srv, COMPUTE_MAX)
    volumes = []
    for vol, att in state.server_volumes(srv.id):
        boot = att.boot_index or (
            '0' if att.device == srv.root_device_name else '-1')
        volumes.append({'id': vol.id, 'delete_on_termination': 'false',
                        'device': att.device, 'bootIndex': boot})
    out.update(_NATIVE_DEFAULTS)
    out.update({
        'os-extended-volumes:volumes_attached': volumes,
        'tags': list(srv.tags), 'flavor': _native_flavor(srv.flavor),
        'addresses': _native_addresses(state, srv),
        'image': {'id': srv.image_id or ''},
        'key_name': srv.key_name or '', 'description': srv.description or '',
        'OS-EXT-SRV-ATTR:user_data': '', 'OS-SRV-USG:terminated_at': '',
        'security_groups': [{'id': _uuid('sg', state.project.id),
                             'name': 'default'}]})
    out.pop('links', None)
    return out


def native_job(job):
    """A native ECS job, as "Querying Job Execution Status" shows it.

    The job's work is one sub-job per server, whose ``entities`` name
    the server.
    """
    sub = {k: job[k] for k in ('status', 'job_id', 'job_type',
                               'begin_time', 'end_time', 'error_code',
                               'fail_reason')}
    sub['entities'] = {'server_id': job['entities']['server_id']}
    return dict(job, entities={'sub_jobs_total': 1, 'sub_jobs': [sub]})


def volume_attachment(srv, vol, att):
    return {'id': vol.id, 'serverId': srv.id, 'volumeId': vol.id,
            'device': att.device}


# -- volumes --------------------------------------------------------------

def _volume_links(state, base, api, vol):
    return _links(state, base, api, 'volumes', vol.id)


def volume_summary(state, base, api, vol):
    return {'id': vol.id, 'name': vol.name,
            'links': _volume_links(state, base, api, vol)}


# Fields of cinder's volume document by the microversion that added them;
# EVS v3 shows a field only when the request's microversion has it.
VOLUME_V3_FIELDS = (((3, 13), 'group_id', None),
                    ((3, 21), 'provider_id', None),
                    ((3, 48), 'service_uuid', None),
                    ((3, 48), 'shared_targets', True),
                    ((3, 61), 'cluster_name', None),
                    ((3, 65), 'consumes_quota', True))


def volume_detail(state, base, api, vol, mv=None):
    hosts = {s.id: s for s in state.servers.values()}
    attachments = []
    for att in vol.attachments:
        srv = hosts.get(att.server_id)
        attachments.append({
            'id': vol.id, 'volume_id': vol.id,
            'attachment_id': att.id, 'server_id': att.server_id,
            'device': att.device,
            'host_name': srv and _hexhash('host', srv.id)[:16],
            'attached_at': cinder_time(att.attached_at)})
    out = {
        'id': vol.id, 'name': vol.name,
        'status': state.volume_status(vol),
        'size': vol.size,
        'bootable': 'true' if vol.bootable else 'false',
        'multiattach': vol.multiattach,
        # EVS's own name for multiattach, still returned by OTC.
        'shareable': 'true' if vol.multiattach else 'false',
        'attachments': attachments,
        'metadata': dict(vol.metadata),
        'volume_type': vol.volume_type,
        'availability_zone': vol.availability_zone,
        'os-vol-tenant-attr:tenant_id': state.project.id,
        'os-vol-host-attr:host': 'pod01.%s#%s' % (
            vol.availability_zone, vol.volume_type),
        'created_at': cinder_time(vol.created_at),
        'updated_at': cinder_time(vol.created_at),
        'description': vol.description,
        'user_id': state.users[0].id,
        'encrypted': vol.metadata.get('__system__encrypted') == '1',
        'replication_status': 'disabled',
        'os-vol-mig-status-attr:migstat': None,
        'os-vol-mig-status-attr:name_id': None,
        'os-volume-replication:extended_status': None,
        # OTC's examples show it on every disk ({} without an image)
        'volume_image_metadata': dict(vol.volume_image_metadata),
        'consistencygroup_id': None,
        'source_volid': None,
        'snapshot_id': None,
        'links': _volume_links(state, base, api, vol),
    }
    if api == 'v3':
        for since, field, value in VOLUME_V3_FIELDS:
            if (mv or VOLUME_V3_MIN) >= since:
                out[field] = value
    return out


def cloud_volume(state, base, vol):
    """A disk of EVS's native list: cinder's v2 document and EVS's own."""
    out = volume_detail(state, base, 'v2', vol)
    out.update({'service_type': 'EVS', 'dedicated_storage_id': None,
                'dedicated_storage_name': None, 'tags': {},
                'wwn': _hexhash('wwn', vol.id)[:32]})
    return out


# -- images ---------------------------------------------------------------

def image_schema(name):
    """``/v2/schemas/image`` and ``/v2/schemas/images``, as IMS shows them.

    The schemas of OTC's IMS API reference ("Querying an Image Schema",
    "Querying an Image List Schema"), kept in ims_schemas.json.
    """
    with open(_IMS_SCHEMAS) as fh:
        return json.load(fh)['schemas'][name]


def image(state, img):
    out = {
        'id': img.id, 'name': img.name, 'status': img.status,
        'visibility': img.visibility, 'protected': False, 'tags': [],
        'container_format': 'bare', 'disk_format': img.disk_format,
        'min_disk': img.min_disk, 'min_ram': 0, 'size': img.size,
        'checksum': 'd41d8cd98f00b204e9800998ecf8427e',
        'owner': state.project.id, 'virtual_size': None,
        # IMS's own properties of a registered image of its own store
        '__image_source_type': 'uds', '__isregistered': 'true',
        '__lazyloading': 'true', 'hw_firmware_type': 'bios',
        'created_at': '2024-01-01T00:00:00Z',
        'updated_at': '2024-01-01T00:00:00Z',
        'self': '/v2/images/%s' % img.id,
        'file': '/v2/images/%s/file' % img.id,
        'schema': '/v2/schemas/image',
    }
    out.update(img.properties)
    return out
