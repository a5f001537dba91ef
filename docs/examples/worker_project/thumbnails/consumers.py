from asgiref.sync import async_to_sync

from channels_lite.consumer import SyncConsumer


class ThumbnailConsumer(SyncConsumer):
    """Make thumbnails in a worker process, away from the web servers."""

    def thumbnail_make(self, message):
        thumbnail = message["image"].rsplit(".", 1)[0] + ".thumb.png"
        # A real worker would render the image here; it may block freely.
        async_to_sync(self.channel_layer.send)(
            message["reply_to"], {"type": "thumbnail.done", "thumbnail": thumbnail}
        )
