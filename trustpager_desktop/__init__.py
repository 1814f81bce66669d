"""TrustPager Desktop: SMS opt-out handling done right."""

__version__ = "0.1.0"
APP_NAME = "TrustPager Desktop"
