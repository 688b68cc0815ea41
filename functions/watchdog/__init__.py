"""The usage watchdog: Gemini usage read from Cloud Monitoring, kept per minute, priced.

Data plane: ``usage`` (the bucket records), ``monitoring`` (the reader), ``store`` (Firestore
buckets), ``catalog`` (Cloud Billing Catalog price drift check). Each module imports its Google
client only when used.

Control plane: ``tick`` (one tick, the I/O), ``config`` (the policy's watchdog keys),
``pricebook`` and ``pricing`` (usage -> money), ``spend`` (the sums the rules compare),
``rules`` (estimate, rate, baseline: which fire), ``trigger`` (what the executor receives),
``state`` (the watchdog's Firestore document), ``reconcile`` (estimate vs. the bill).
"""

from __future__ import annotations

__all__: list[str] = []
