"""A TLS front for Temporal's gRPC port, as a Temporal cluster or Temporal Cloud presents itself: Debian's
nginx, HTTP/2 with ALPN `h2`, `grpc_pass` to a plaintext frontend. It either verifies a client
certificate against a CA (mTLS) or admits only `authorization: Bearer <api key>` (the API-key mode)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from paid_devstack.binaries import BinaryNotFoundError
from paid_devstack.ports import LOOPBACK, free_port
from paid_devstack.processes import ManagedProcess, wait_tcp
from paid_devstack.server import LocalServer


@dataclass(frozen=True)
class ServerCertificate:
    cert_path: Path
    key_path: Path


class GrpcTlsFront(LocalServer):
    def __init__(
        self,
        data_dir: Path,
        upstream: str,
        certificate: ServerCertificate,
        *,
        client_ca_path: Path | None = None,
        api_key: str | None = None,
        port: int | None = None,
    ) -> None:
        if (client_ca_path is None) == (api_key is None):
            raise ValueError("a front checks either client certificates (client_ca_path) or an api_key")
        binary = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
        if binary is None:
            raise BinaryNotFoundError("nginx (Debian's nginx-light) is not installed: scripts/system-deps")
        self.data_dir = Path(data_dir)
        self.upstream = upstream
        self.certificate = certificate
        self.client_ca_path = client_ca_path
        self.api_key = api_key
        self.port = port or free_port()
        self.config_path = self.data_dir / "nginx.conf"
        self.process = ManagedProcess(
            "tls-front",
            [binary, "-c", self.config_path, "-p", self.data_dir, "-e", self.data_dir / "error.log"],
            log_path=self.data_dir / "tls-front.log",
            pid_file=self.data_dir / "tls-front.pid",
            cwd=self.data_dir,
        )

    @property
    def target(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def _prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.client_ca_path is not None:
            check = f"ssl_client_certificate {self.client_ca_path};\n    ssl_verify_client on;"
        else:
            # gRPC clients read HTTP 401 as UNAUTHENTICATED. The key is the test's own random string.
            check = f'if ($http_authorization != "Bearer {self.api_key}") {{ return 401; }}'
        temp = self.data_dir / "temp"
        temp.mkdir(exist_ok=True)
        # Five services' workers hold long polls open through the front (each one stream downstream and
        # one connection upstream), and Temporal answers a long poll after up to ~70 s: nginx's defaults
        # (64 connections, a 60 s read timeout) would cut a whole platform's polls short.
        self.config_path.write_text(
            f"""daemon off;
master_process off;
pid {self.data_dir / "nginx.pid"};
error_log {self.data_dir / "error.log"} warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {temp};
  proxy_temp_path {temp};
  fastcgi_temp_path {temp};
  uwsgi_temp_path {temp};
  scgi_temp_path {temp};
  server {{
    listen {LOOPBACK}:{self.port} ssl http2;
    ssl_certificate {self.certificate.cert_path};
    ssl_certificate_key {self.certificate.key_path};
    {check}
    location / {{
      grpc_pass grpc://{self.upstream};
      grpc_read_timeout 300s;
      grpc_send_timeout 300s;
    }}
  }}
}}
"""
        )

    def _wait_ready(self, timeout: float) -> None:
        host, _, port = self.target.rpartition(":")
        wait_tcp(host, int(port), timeout, self.process)
