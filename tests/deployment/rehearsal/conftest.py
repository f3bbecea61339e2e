"""What the rehearsal's unit tests share: the API they pretend to read, the uploaded site.

Terraform, the Lambda zip and Chromium are fixtures of tests/conftest.py."""

from __future__ import annotations

from deployment.rehearsal.readback import SiteObject
from local_stack.site import FRONTEND_DIR, Site, site_variables

API_ID = "abc123"
REGION = "eu-west-1"
STAGE = "prod"
HOST = f"{API_ID}.execute-api.{REGION}.amazonaws.com"
WEBSOCKET_URL = f"wss://{HOST}/{STAGE}"


def uploaded_site(websocket_url: str = WEBSOCKET_URL) -> dict[str, SiteObject]:
    """frontend/ as Terraform uploads it for ``websocket_url`` (rendered, typed)."""
    site = Site(FRONTEND_DIR, site_variables(websocket_url, 2000))
    return {
        str(path): SiteObject(key=str(path), body=file.body, content_type=file.content_type)
        for path, file in site.render_all().items()
    }
