"""What the rehearsal's unit tests share: the API they pretend to read, the uploaded site.

Terraform, the Lambda zip and Chromium are fixtures of tests/conftest.py."""

from __future__ import annotations

import dataclasses

from chat.runtime import RUNTIME_ENV

from deployment.product import DEFAULT_MAX_MESSAGE_CHARS
from deployment.rehearsal.readback import Api, Integration, Route, SiteObject, Stage
from deployment.rehearsal.report import Problem
from local_stack.site import FRONTEND_DIR, Site, site_variables

API_ID = "abc123"
REGION = "eu-west-1"
STAGE = "prod"
HOST = f"{API_ID}.execute-api.{REGION}.amazonaws.com"
WEBSOCKET_URL = f"wss://{HOST}/{STAGE}"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:123456789012:function:awsome-chat-handler"
INVOKE_URI = (
    f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{FUNCTION_ARN}/invocations"
)
ROUTE_KEYS = frozenset({"$connect", "$disconnect", "$default", "sendmessage", "ping"})
SITE_ORIGIN = "https://d111.cloudfront.net"
TABLE = "awsome-chat-connections"
# What the code says it reads: the product's own list (one definition per fact).
READS = frozenset(RUNTIME_ENV)
ENVIRONMENT = {
    "TABLE_NAME": TABLE,
    "CONNECTIONS_ENDPOINT": f"https://{HOST}/{STAGE}",
    "ALLOWED_ORIGINS": SITE_ORIGIN,
    "MAX_MESSAGE_CHARS": str(DEFAULT_MAX_MESSAGE_CHARS),
}


def api(**changes: object) -> Api:
    """The API Terraform creates (every route to one Lambda proxy integration), with changes."""
    built = Api(
        api_id=API_ID,
        protocol_type="WEBSOCKET",
        route_selection_expression="$request.body.action",
        endpoint_host=HOST,
        execute_api_endpoint_disabled=False,
        routes=tuple(Route(key, "integrations/int1") for key in sorted(ROUTE_KEYS)),
        integrations={"int1": Integration("int1", "AWS_PROXY", INVOKE_URI)},
        stages=(Stage(STAGE, auto_deploy=True, deployment_id=None),),
    )
    return dataclasses.replace(built, **changes)  # type: ignore[arg-type]


def messages(problems: list[Problem]) -> list[str]:
    """Just the messages, for exact comparisons."""
    return [p.message for p in problems]


def uploaded_site(websocket_url: str = WEBSOCKET_URL) -> dict[str, SiteObject]:
    """frontend/ as Terraform uploads it for ``websocket_url`` (rendered, typed)."""
    site = Site(FRONTEND_DIR, site_variables(websocket_url, DEFAULT_MAX_MESSAGE_CHARS))
    return {
        str(path): SiteObject(key=str(path), body=file.body, content_type=file.content_type)
        for path, file in site.render_all().items()
    }
