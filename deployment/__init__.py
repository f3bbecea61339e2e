"""Terraform applied to a local AWS emulator, read back, and rehearsed.

- ``deployment.terraform``: run ``terraform/`` offline against moto's server (tools, workspace,
  CLI runner, plan parsing, the applied deployment, boto3 on the emulator); used by the
  Terraform tests and the rehearsal.
- ``deployment.rehearsal``: apply, read back, check, run the chat on what was created (through
  ``local_stack``'s gateway), destroy; ``python -m deployment.rehearse`` (``make rehearse``).
- ``deployment.product``: the product facts these checks hold Terraform to, imported from the
  product.

"Deployment" here always means ``terraform/`` applied somewhere; the "local stack" is
``local_stack`` (the emulator and ``make dev``), which this package uses but never changes.
"""

# The product's ``chat`` package lives in ``backend/`` (the zip's root); ``local_stack`` puts it
# on ``sys.path`` when imported, and every module here may import ``chat``.
import local_stack  # noqa: F401
