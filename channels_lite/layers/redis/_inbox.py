"""Process-local channels: one inbox queue per process, drained in batches.

All process-local channels of a layer whose names share the part up to ``!``
(``specific.<process id>!``) are stored in one Redis list. One drain task per
inbox pops up to :data:`BATCH` entries per round trip and fans each entry out to
the local mailboxes of the channels it lists; ``receive`` then waits on a
mailbox only. A message counts against its channel's capacity until a
consumer takes it (or it expires), so a slow consumer fills only its own
channel. Those hand-overs are reported back to Redis in batches: on the drain
task's next round trip while messages keep coming, otherwise by a second task
a moment later, and at once when this process finds one of its own channels
full on a send.

Mailboxes belong to the layer, not to an event loop: a receiver in any loop
can be woken, and messages drained in a loop that has since closed are not
lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from time import monotonic
from typing import Any

from channels_lite.exceptions import ChannelLayerUnavailable
from channels_lite.layers._mailbox import Mailbox
from channels_lite.layers.redis._shards import (
    UNAVAILABLE_BACKOFF,
    Shard,
    stop_if_cancelled,
)
from channels_lite.layers.redis._wire import Keys, pack_counts, parse_entry

__all__ = ["BATCH", "Inbox"]

logger = logging.getLogger(__name__)

#: How many entries one drain round trip pops at most.
BATCH = 1000
_SWEEP_INTERVAL = 1.0
# How long hand-overs may wait for the drain task to carry them to Redis
# before the ack task reports them on a round trip of its own.
_ACK_DELAY = 0.002


class _Mailbox(Mailbox[tuple[float, bytes]]):
    """Messages for one process-local channel and the receivers waiting."""

    __slots__ = ("receivers", "taken")

    def __init__(self) -> None:
        super().__init__()
        self.receivers = 0
        # Whether a consumer took a message since the layer last asked.
        self.taken = False


class Inbox:
    """The mailboxes of one inbox queue and the bookkeeping of its capacity.

    ``decrypt`` turns a stored body into plaintext (None if unreadable).
    """

    def __init__(
        self,
        queue: str,
        decrypt: Callable[[bytes], bytes | None],
        stats: Counter[str],
    ) -> None:
        self.queue = queue
        self.decrypt = decrypt
        self.stats = stats
        self._mailboxes: dict[str, _Mailbox] = {}
        self._acks: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._ack_event: asyncio.Event | None = None
        self._ack_loop: asyncio.AbstractEventLoop | None = None
        # Reports of hand-overs whose round trip is running, in any loop, and
        # how many have ended: a sender that saw a channel full can tell
        # whether a report finished since.
        self._reports: list[Future[None]] = []
        self.reports_done = 0

    def deliver(self, entries: Iterable[bytes], server_now_ms: int) -> None:
        """Put drained entries into their channels' mailboxes."""
        now = monotonic()
        with self._lock:
            for entry in entries:
                deadline, targets, body = parse_entry(entry)
                remaining = (deadline - server_now_ms) / 1000
                plain = self.decrypt(body) if remaining > 0 else None
                if plain is None:
                    self._discard(targets, "expired" if remaining <= 0 else "bad")
                    continue
                for target in targets:
                    mailbox = self._mailbox(self.queue + target)
                    mailbox.messages.append((now + remaining, plain))
                    mailbox.wake_one()
        self._wake_acks()

    def _discard(self, targets: list[str], reason: str) -> None:
        self._acks.update(targets)
        if reason == "expired":
            self.stats["expired"] += len(targets)
        else:
            self.stats["undecryptable"] += len(targets)
            logger.warning(
                "Dropped a message for %d channel(s) of %s that no key decrypts",
                len(targets),
                self.queue,
            )

    def _mailbox(self, channel: str) -> _Mailbox:
        mailbox = self._mailboxes.get(channel)
        if mailbox is None:
            mailbox = self._mailboxes[channel] = _Mailbox()
        return mailbox

    def _pop(self, channel: str, mailbox: _Mailbox) -> bytes | None:
        """Take the next unexpired message of ``channel``, counting hand-overs.

        The caller holds the lock.
        """
        if not mailbox.messages:
            return None
        now = monotonic()
        suffix = channel[len(self.queue) :]
        mailbox.taken = True
        while mailbox.messages:
            deadline, body = mailbox.messages.popleft()
            self._acks[suffix] += 1
            if deadline > now:
                return body
            self.stats["expired"] += 1
        return None

    async def take(self, channel: str) -> bytes:
        """Wait for and return the next message body of ``channel``.

        A receiver that must wait registers under the same lock as the check
        that found nothing, so a delivery cannot slip in between. This runs
        once per member of every group_send, hence one coroutine, one lock
        round per step, and no call that is not needed.
        """
        with self._lock:
            mailbox = self._mailboxes.get(channel) or self._mailbox(channel)
            body = self._pop(channel, mailbox) if mailbox.messages else None
            if body is None:
                waiter = mailbox.add_waiter()
                mailbox.receivers += 1
        if body is not None:
            self._wake_acks()
            return body
        try:
            while True:
                try:
                    await waiter
                except asyncio.CancelledError:
                    with self._lock:
                        mailbox.withdraw(waiter)
                    raise
                with self._lock:
                    body = self._pop(channel, mailbox)
                    if body is not None:
                        return body
                    # Another receiver of the channel took it first.
                    waiter = mailbox.add_waiter()
        finally:
            with self._lock:
                mailbox.receivers -= 1
            self._wake_acks()

    def sweep(self) -> None:
        """Drop expired messages and forget idle, empty mailboxes."""
        now = monotonic()
        with self._lock:
            for channel, mailbox in list(self._mailboxes.items()):
                suffix = channel[len(self.queue) :]
                while mailbox.messages and mailbox.messages[0][0] <= now:
                    mailbox.messages.popleft()
                    self._acks[suffix] += 1
                    self.stats["expired"] += 1
                if not (mailbox.messages or mailbox.waiters or mailbox.receivers):
                    del self._mailboxes[channel]
        self._wake_acks()

    def in_use(self, channel: str) -> bool:
        """Return whether ``channel`` has a consumer: waiting now, or busy.

        Busy means it took a message since the previous call, which starts
        the next period.
        """
        with self._lock:
            mailbox = self._mailboxes.get(channel)
            if mailbox is None:
                return False
            taken, mailbox.taken = mailbox.taken, False
            return taken or mailbox.receivers > 0

    def clear(self) -> None:
        """Forget every buffered message and pending hand-over (flush)."""
        with self._lock:
            for mailbox in self._mailboxes.values():
                mailbox.messages.clear()
            self._acks.clear()

    def _wake_acks(self) -> None:
        event, loop = self._ack_event, self._ack_loop
        # Set already: the ack task has yet to run and will carry these too.
        if event is None or loop is None or not self._acks or event.is_set():
            return
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is running:
            event.set()
        else:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(event.set)

    def _begin_report(self) -> tuple[str, Future[None] | None]:
        """Take the unreported hand-overs (packed, ``suffix=n,...``) to report.

        Also return a future to settle once they are reported (None if there
        are none).
        """
        with self._lock:
            acks, self._acks = self._acks, Counter()
            if not acks:
                return "", None
            report: Future[None] = Future()
            self._reports.append(report)
        return pack_counts(acks), report

    def _end_report(self, report: Future[None] | None) -> None:
        if report is not None:
            with self._lock:
                self._reports.remove(report)
                self.reports_done += 1
            report.set_result(None)

    async def report_acks(self, shard: Shard, keys: Keys) -> bool:
        """Report the hand-overs not reported yet; return whether there were any.

        Reports other tasks have in flight are waited for, so once this
        returns, Redis counts every hand-over made before it was called.
        """
        with self._lock:
            others = list(self._reports)
        packed, report = self._begin_report()
        if packed:
            # The hand-overs are taken: the call runs in a task of its own so
            # that a cancelled caller (a send given up) does not drop it, or
            # Redis would count those messages against capacity for good.
            await asyncio.shield(
                asyncio.ensure_future(self._report(shard, keys, packed, report))
            )
        for other in others:
            await asyncio.wrap_future(other)
        return bool(packed or others)

    async def _report(
        self, shard: Shard, keys: Keys, packed: str, report: Future[None] | None
    ) -> None:
        try:
            await shard.run("ack", [keys.counts(self.queue)], [packed])
        except ChannelLayerUnavailable:
            # Redis lost or restarted: its counts are gone with it.
            logger.debug("Could not report hand-overs: %s", packed)
        finally:
            self._end_report(report)

    async def flush_acks(self, shard: Shard, keys: Keys) -> None:
        """Report the hand-overs the drain task has not carried (a task)."""
        event = self._ack_event = asyncio.Event()
        self._ack_loop = asyncio.get_running_loop()
        while True:
            await event.wait()
            stop_if_cancelled()
            event.clear()
            await asyncio.sleep(_ACK_DELAY)
            await self.report_acks(shard, keys)

    async def _pop_batch(self, shard: Shard, keys: list[str]) -> Any:
        """Pop the next batch, carrying the hand-overs not reported yet."""
        packed, report = self._begin_report()
        try:
            return await shard.run("drain", keys, [BATCH, packed])
        finally:
            self._end_report(report)

    async def drain(
        self, shard: Shard, keys: Keys, on_recover: Callable[[], None]
    ) -> None:
        """Move entries from Redis into mailboxes until cancelled (a task)."""
        key, counts = keys.queue(self.queue), keys.counts(self.queue)
        failures, next_sweep = 0, monotonic() + _SWEEP_INTERVAL
        while True:
            stop_if_cancelled()
            try:
                server_now, entries = await self._pop_batch(shard, [key, counts])
                if failures:
                    failures = 0
                    logger.warning("Redis at %s is back", shard.config.label)
                    on_recover()
                if entries:
                    self.deliver(entries, int(server_now))
                if monotonic() >= next_sweep:
                    self.sweep()
                    next_sweep = monotonic() + _SWEEP_INTERVAL
                if len(entries) < BATCH:
                    await shard.wait_for_entry(key)
            except ChannelLayerUnavailable as exc:
                if not failures:
                    logger.warning("Receiving on %s paused: %s", self.queue, exc)
                await asyncio.sleep(UNAVAILABLE_BACKOFF.compute(failures))
                failures += 1
