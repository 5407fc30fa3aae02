"""Self-signed certificates so tests can talk HTTPS to the simulator."""

import datetime
import ipaddress
import os

DEFAULT_HOSTS = ('127.0.0.1', 'localhost')


def generate_self_signed(directory, hosts=DEFAULT_HOSTS, days=7,
                         client=False):
    """Write ``sim-cert.pem`` and ``sim-key.pem`` into ``directory``.

    The certificate is its own CA (basicConstraints CA:TRUE), so clients
    can trust it by passing the certificate file as ``cacert``.  With
    ``client`` it is a client certificate (clientAuth; files
    ``client-cert.pem`` / ``client-key.pem``, ``hosts[0]`` its name) for
    tests of mutual TLS.  Returns ``(cert_path, key_path)``.
    """
    # Imported here: only TLS users pay for loading cryptography.
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, hosts[0]),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, 'otc-detach-sim')])
    alt = []
    for host in hosts:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            alt.append(x509.DNSName(host))
    now = datetime.datetime.now(datetime.timezone.utc)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None),
                       critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True,
            content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(
            [ExtendedKeyUsageOID.CLIENT_AUTH if client
             else ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                ski), critical=False)
        .sign(key, hashes.SHA256()))
    os.makedirs(directory, exist_ok=True)
    prefix = 'client' if client else 'sim'
    cert_path = os.path.join(directory, prefix + '-cert.pem')
    key_path = os.path.join(directory, prefix + '-key.pem')
    with open(cert_path, 'wb') as fh:
        fh.write(cert.public_bytes(serialization.Encoding.PEM))
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'wb') as fh:
        fh.write(key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
    return cert_path, key_path
