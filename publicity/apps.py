from django.apps import AppConfig
from django.db.models.signals import post_save

from .cache import public_cache_clear


def _policy_saved(sender, **kwargs):
    """A year's policy loaded (or loaded again) changes the public policy page and its leaflet:
    every cached public page goes stale at once."""
    public_cache_clear()


class PublicityConfig(AppConfig):
    name = "publicity"
    verbose_name = "补偿公示"

    def ready(self):
        post_save.connect(_policy_saved, sender="policy.PolicyVersion", dispatch_uid="publicity-policy-saved")
