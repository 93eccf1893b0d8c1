"""Live updates: which streams a user may follow, the bounded replay log, the websocket consumer."""
