"""What the brakes did, read from the stand-in's world (their effects, not the guard's word).

A snapshot lists every brake in force in the project: deleted keys, the Gemini API disabled,
billing unlinked, quota values set by a preference. The difference of two snapshots around a
guard delivery is what that delivery changed. ``held_by`` names the brake behind a refusal.
"""

from __future__ import annotations

from standin.gemini import SERVICE
from standin.state import World

__all__ = ["held_by", "snapshot"]


def snapshot(world: World, project_id: str) -> frozenset[str]:
    """Every brake in force in ``project_id``, one phrase each."""
    with world.lock:
        project = world.projects[project_id]
        found = {f"key deleted ({k.display_name})" for k in project.keys if k.delete_time}
        if project.services.get(SERVICE) != "ENABLED":
            found.add("Gemini API disabled")
        if not project.billing_account:
            found.add("billing unlinked")
        quotas = world.quotas.get(project_id)
        for pref in quotas.preferences.values() if quotas is not None else ():
            model = pref.dimensions.get("model", "*")
            found.add(f"quota {pref.quota_id} of {model} = {pref.granted_value}")
    return frozenset(found)


def held_by(reason: str) -> str:
    """The kind of brake a Gemini refusal reason comes from."""
    if reason == "API_KEY_INVALID":
        return "key deleted"
    if reason == "API_KEY_SERVICE_BLOCKED":
        return "key restricted"
    if reason == "SERVICE_DISABLED":
        return "Gemini API disabled"
    if reason.endswith("-FreeTier"):
        return "billing unlinked"
    if reason:
        return "quota"
    return ""
