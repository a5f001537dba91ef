import hashlib
import re

NOT_ALLOWED = re.compile(r"[^a-zA-Z0-9_.-]")


def room_group_name(room_name):
    """Return a valid group name for a room, whatever characters it holds."""
    readable = NOT_ALLOWED.sub("_", room_name)[:40]
    # The digest keeps rooms apart whose readable parts come out the same,
    # such as "café" and "caf_".
    digest = hashlib.sha256(room_name.encode()).hexdigest()[:16]
    return f"chat.{readable}.{digest}"
