"""Messages and reminders: who may be contacted on which channel (``policy``), the words
(``templates``), the channel backends (``backends``). The writes live in
``psp_crm.services.messaging``.
"""
