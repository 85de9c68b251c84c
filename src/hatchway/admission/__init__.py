"""Admission: `kubectl apply` refused for what cannot serve, warned about what will surprise.

Pure: `review` judges one object against a snapshot (see `admission.review`); the webhook
server that answers the API server is `runtime.webhook`.
"""

from hatchway.admission.review import ADMITTED, Verdict, denial_message, review, with_object

__all__ = ["ADMITTED", "Verdict", "denial_message", "review", "with_object"]
