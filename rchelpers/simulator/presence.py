"""The extension presence body, the one builder of every presence event the simulator sends.

Its fields and their order are those of the example on RingCentral's ``extension-presence.md`` event-filter
page; the detailed form (``detailedTelephonyState=true``) adds ``activeCalls`` and ``totalActiveCalls``,
which the callers add.
"""
from __future__ import annotations

from typing import Any


def presence_body(extension_id: str, sequence: int, telephony_status: str) -> dict[str, Any]:
    """A presence body of ``extension_id`` in ``telephony_status``: Busy on a call, else Available, with
    the demo user's other settings (available, no meeting, taking all calls)."""
    return {
        "extensionId": extension_id,
        "telephonyStatus": telephony_status,
        "sequence": sequence,
        "presenceStatus": "Available" if telephony_status == "NoCall" else "Busy",
        "userStatus": "Available",
        "meetingStatus": "Disconnected",
        "dndStatus": "TakeAllCalls",
        "allowSeeMyPresence": True,
        "ringOnMonitoredCall": False,
        "pickUpCallsOnHold": False,
    }
