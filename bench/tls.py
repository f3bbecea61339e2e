"""A throwaway certificate for HTTPS on loopback, trusted by the benchmark's and tests' senders.

``local_certificate`` makes a self-signed certificate for ``127.0.0.1`` (an IP address
subject alternative name, so hostname checking stays on) with the ``cryptography`` package,
valid for a day, and writes it and its key into a directory. The server loads the pair; the
sender trusts exactly this certificate through ``trusting`` (a verifying context: nothing is
switched off). Nothing of this is in the Lambda's zip.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class Certificate:
    """A certificate and its private key, as PEM files."""

    cert: Path
    key: Path

    @classmethod
    def in_directory(cls, directory: Path) -> Certificate:
        """The files ``local_certificate`` writes into ``directory``."""
        return cls(directory / "local-stack.pem", directory / "local-stack.key")

    def server_context(self) -> ssl.SSLContext:
        """A server-side context presenting this certificate."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context

    def trusting(self) -> ssl.SSLContext:
        """A verifying client context (hostname checked) whose only trusted root is this one."""
        return ssl.create_default_context(cafile=str(self.cert))


def local_certificate(directory: Path, host: str = "127.0.0.1") -> Certificate:
    """Write a fresh self-signed certificate for ``host`` (an IP address) into ``directory``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "awsome-chat local stack")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    paths = Certificate.in_directory(directory)
    paths.cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    paths.key.chmod(0o600)
    return paths
