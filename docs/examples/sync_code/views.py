from asgiref.sync import async_to_sync
from django.http import JsonResponse
from django.views.decorators.http import require_POST

from channels_lite.layers import get_channel_layer


@require_POST
def announce(request, room_name):
    """Post a message into a chat room from an ordinary Django view."""
    layer = get_channel_layer()
    async_to_sync(layer.group_send)(
        f"chat_{room_name}",
        {"type": "chat.message", "message": request.POST["message"]},
    )
    return JsonResponse({"room": room_name, "sent": True})
