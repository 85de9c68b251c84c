"""The pure core: Gateway API snapshot -> (status report, IR). No I/O, no clock."""

from hatchway.translate.core import translate
from hatchway.translate.features import SUPPORTED_FEATURES
from hatchway.translate.memo import TranslateMemo
from hatchway.translate.settings import (
    CONTROLLER_NAME,
    GatewayAddresses,
    Settings,
    Translation,
)

__all__ = [
    "CONTROLLER_NAME",
    "SUPPORTED_FEATURES",
    "GatewayAddresses",
    "Settings",
    "TranslateMemo",
    "Translation",
    "translate",
]
