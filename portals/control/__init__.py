"""The provider's operational control room (``/control/``)."""
