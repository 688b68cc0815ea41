"""The usage watchdog: Gemini usage read from Cloud Monitoring, kept per minute, priced.

Data plane: ``usage`` (the bucket records), ``monitoring`` (the reader), ``store`` (Firestore
buckets), ``catalog`` (Cloud Billing Catalog price drift check). Each module imports its Google
client only when used.
"""

from __future__ import annotations

__all__: list[str] = []
