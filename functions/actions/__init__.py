"""The action registry: every brake the policy may name, keyed by its name.

Each action declares its name, the policy keys it reads and the IAM permissions it needs as class
data; ``tests/infra`` fails when Terraform grants anything else. No module here imports a Google
client at import time.
"""

from __future__ import annotations

from functions.actions.base import Action, Context, Outcome
from functions.actions.billing import DisableBilling
from functions.actions.keys import RevokeKeys, RotateKeys
from functions.actions.notify import Notify
from functions.actions.offending import RevokeLeakedKey, RevokeOffendingKeys
from functions.actions.quotas import Throttle
from functions.actions.service import DisableService

__all__ = ["REGISTRY", "Action", "Context", "Outcome"]

REGISTRY: dict[str, type[Action]] = {
    cls.name: cls
    for cls in (Notify, RotateKeys, RevokeKeys, DisableService, DisableBilling, Throttle)
}
REGISTRY.update({cls.name: cls for cls in (RevokeOffendingKeys, RevokeLeakedKey)})
