"""What changes when the deployed function and site run on the local gateway instead: the
function's endpoints and the site's WebSocket URL, and nothing else."""

from __future__ import annotations

from collections.abc import Mapping

from deployment.product import DYNAMODB_ENDPOINT_VARIABLE, ENDPOINT_VARIABLE, ORIGINS_VARIABLE
from deployment.rehearsal.csp import url_origin
from deployment.rehearsal.readback import SiteObject
from deployment.rehearsal.site_checks import CONFIG_JS


def rewrite_site(
    objects: Mapping[str, SiteObject], rendered_url: str, local_url: str
) -> dict[str, bytes]:
    """The site's files with the rendered WebSocket URL (and its origin) made local.

    config.js gets ``local_url``; HTML files get the local origin wherever the rendered origin
    appeared (the CSP's connect-src). Everything else is served byte for byte.
    """
    rendered_origin, local_origin = url_origin(rendered_url), url_origin(local_url)
    files: dict[str, bytes] = {}
    for key, obj in objects.items():
        body = obj.body
        if key == CONFIG_JS:
            body = body.decode("utf-8").replace(rendered_url, local_url).encode("utf-8")
        elif key.lower().endswith(".html"):
            body = body.decode("utf-8").replace(rendered_origin, local_origin).encode("utf-8")
        files[key] = body
    return files


def local_environment(
    environment: Mapping[str, str],
    *,
    connections_endpoint: str,
    dynamodb_endpoint: str,
    website_origin: str,
    page_origin: str,
) -> tuple[dict[str, str], list[str]]:
    """The function's environment with only its endpoints made local; and what was changed.

    ``CONNECTIONS_ENDPOINT`` becomes the local gateway, DynamoDB is reached at the emulator
    Terraform applied to (``AWS_ENDPOINT_URL_DYNAMODB``), and in ``ALLOWED_ORIGINS`` the site's
    deployed origin becomes the local site's (the site is the other endpoint that moved).
    Every other variable is kept as deployed.
    """
    local = dict(environment)
    changes: list[str] = []

    def change(name: str, value: str) -> None:
        before = environment.get(name)
        changes.append(f"{name}: {before if before is not None else '(unset)'} -> {value}")
        local[name] = value

    change(ENDPOINT_VARIABLE, connections_endpoint)
    change(DYNAMODB_ENDPOINT_VARIABLE, dynamodb_endpoint)
    origins = environment.get(ORIGINS_VARIABLE)
    if origins:
        mapped = [
            page_origin if o.strip().rstrip("/").lower() == website_origin.lower() else o.strip()
            for o in origins.split(",")
            if o.strip()
        ]
        if ",".join(mapped) != origins:
            change(ORIGINS_VARIABLE, ",".join(mapped))
    return local, changes
