"""Reads of the domain for the faces: every selector starts from the access policy.

Selectors take keyword-only arguments with the acting user first (``actor``) and return querysets,
lists or small dataclasses the templates render. An object the actor may not see and one that
does not exist raise the same :class:`psp_crm.errors.NotFound`.
"""
