"""The channels_lite demo project: a chat with rooms, presence and a bot."""
