"""The demo chat: rooms, presence, and a bot served by a background worker."""
