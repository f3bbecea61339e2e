"""`make smoke`: after `make deploy`, prove that the real deployment works.

Everything it talks to comes from ``terraform output`` (or a file of it, ``--outputs``): the
page and its config.js at ``website_url``, real WebSocket clients on ``websocket_url``, the
``@connections`` management API at ``connections_endpoint``, the tables ``table_name`` and
``messages_table_name``, the site's bucket ``site_bucket`` and, with sign-in, the user pool
``user_pool_id`` and its app client ``user_pool_client_id``; all in ``region`` with your AWS
credentials (boto3's usual chain: ``AWS_PROFILE``, SSO, environment...). Nothing here knows an
AWS host name: boto3's ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>`` variables point
its AWS calls elsewhere, and a file of outputs its URLs (the rehearsal runs it so, on moto and
the local gateway: deployment/rehearsal/smoke_run.py).

One line per check, ``ok``, ``FAIL`` or ``skip`` (with why); the exit status is 1 when any
check failed. A skip is not a failure: it says what could not be checked here and why (or that
a check it needs failed, which is a failure of its own line). It sends a few frames in two rooms
of its own (named ``smoke-...``), deletes one of its own connections and, with Cognito sign-in,
creates one user of its own and deletes it again; it never touches other rooms or users.

| module | what |
| --- | --- |
| ``target.py`` | the outputs it reads, the sign-in mode they say |
| ``report.py`` | the checks' lines, the exit status |
| ``site.py`` | the page, config.js, the CSP header, the bucket not public |
| ``sign_in.py`` | the ID token: a throwaway Cognito user, or an OIDC token given |
| ``chat.py`` | WebSocket clients: connect, refusals, delivery, join/history, @connections |
| ``cli.py`` | the command line |
"""

from __future__ import annotations

from deployment.smoke.cli import main, run_smoke
from deployment.smoke.report import Check
from deployment.smoke.target import OUTPUTS, SmokeError, SmokeTarget

__all__ = ["OUTPUTS", "Check", "SmokeError", "SmokeTarget", "main", "run_smoke"]
