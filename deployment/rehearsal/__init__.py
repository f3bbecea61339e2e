"""The deployment rehearsal: ``terraform/`` applied to a local AWS emulator, then the chat run on
exactly what it created, then destroyed (``make rehearse``, ``python -m deployment.rehearse``).

    from deployment.rehearsal import RehearsalOptions, rehearse

    report = rehearse(RehearsalOptions(hosting_mode="s3-website"), out=print)
    report.ok           # every step passed and the deployment was destroyed
    report.problems     # [Problem(area, message), ...], each saying what is wrong and what breaks
    report.destroyed    # True also when a step failed

Modules (deployment/README.md has the table): ``readback`` reads back what Terraform created
(boto3 on the emulator); ``api_checks``, ``function_checks`` and ``site_checks`` judge it
(pure), with ``resource_policy`` and ``csp`` as their evaluators; ``local_run`` maps it onto
the local stack; ``code`` checks and inspects the function's package; ``e2e_websocket`` and
``e2e_browser`` run the chat checks, with ``e2e_users`` signing their users in and ``e2e``
holding what they share; ``options`` says what to rehearse; ``readback_steps`` runs
the read-back steps; ``local_gateway`` starts the local gateway from what they found;
``runner`` puts the steps in order with destroy in a ``finally``; ``report`` prints and keeps
the findings.
"""

from deployment.rehearsal.options import HOSTING_MODES, RehearsalOptions
from deployment.rehearsal.report import Problem, RehearsalError, Report, Step
from deployment.rehearsal.runner import rehearse

__all__ = [
    "HOSTING_MODES",
    "Problem",
    "RehearsalError",
    "RehearsalOptions",
    "Report",
    "Step",
    "rehearse",
]
