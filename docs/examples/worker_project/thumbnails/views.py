from asgiref.sync import async_to_sync
from django.http import JsonResponse

from channels_lite.layers import get_channel_layer


def make_thumbnail(request, image, reply_to):
    """Queue a thumbnail for the worker; its answer goes to ``reply_to``."""
    async_to_sync(get_channel_layer().send)(
        "thumbnails", {"type": "thumbnail.make", "image": image, "reply_to": reply_to}
    )
    return JsonResponse({"queued": image})
