"""The REST API (``/api/v1/``) of the native apps: thin views over the domain's services."""
