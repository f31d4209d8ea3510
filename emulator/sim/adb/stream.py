"""One adb stream (an OPENed service) as seen from the device: flow-controlled writes, acknowledged reads.

Outgoing: at most one unacknowledged WRTE; the next waits for the peer's OKAY.
Incoming: a service that reads (sync, tcp) acknowledges a WRTE only when it takes the data, which is real
backpressure; a service that ignores its input (shell) acknowledges at once and drops it.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING

from emulator.sim.adb.packets import A_CLSE, A_OKAY, A_WRTE, Message, ProtocolError

if TYPE_CHECKING:
    from emulator.sim.adb.transport import Connection

# The peer may send one WRTE before our OKAY; a few more means it ignores flow control.
MAX_QUEUED_CHUNKS = 8
# How long a closing stream waits for the OKAY of its last WRTE (adbd sends CLSE only after it).
CLOSE_ACK_TIMEOUT = 5.0


class Stream:
    def __init__(self, connection: Connection, local_id: int, remote_id: int, service: str) -> None:
        self.local_id = local_id
        self.remote_id = remote_id
        self.service = service
        self._connection = connection
        self._cond = threading.Condition()
        self._awaiting_ack = False
        self._closed = False
        self._close_sent = False
        self._discard_input = False
        self._inbound: deque[bytes] = deque()
        self._buffer = bytearray()

    # ----- worker side -----
    @property
    def max_payload(self) -> int:
        return self._connection.max_payload

    @property
    def closed(self) -> bool:
        return self._closed

    def accept(self, discard_input: bool) -> None:
        """Answer the OPEN with OKAY; `discard_input` acknowledges and drops everything the client writes."""
        self._discard_input = discard_input
        self._connection.send(Message(A_OKAY, self.local_id, self.remote_id))

    def refuse(self) -> None:
        """Answer the OPEN with CLSE(0, remote): the client sees the service as unavailable."""
        with self._cond:
            self._closed = self._close_sent = True
            self._cond.notify_all()
        self._connection.send(Message(A_CLSE, 0, self.remote_id))
        self._connection.forget(self)

    def write(self, data: bytes) -> bool:
        """Send data in WRTEs of at most max_payload bytes, each after the previous one was acknowledged.

        Returns False (data dropped) once the stream is closed.
        """
        view = memoryview(data)
        step = self.max_payload
        for start in range(0, len(view), step):
            if not self._send_wrte(bytes(view[start : start + step])):
                return False
        return True

    def write_records(self, records: Iterable[bytes]) -> bool:
        """Pack whole records into WRTEs, never splitting one that fits (clients read a record with one recv)."""
        batch = bytearray()
        for record in records:
            if batch and len(batch) + len(record) > self.max_payload:
                if not self.write(bytes(batch)):
                    return False
                batch.clear()
            batch += record
        return self.write(bytes(batch)) if batch else not self._closed

    def read(self, size: int) -> bytes:
        """Up to `size` bytes of client input; blocks until some arrive; b'' once the stream is closed."""
        acknowledge = False
        with self._cond:
            while not self._buffer and not self._inbound and not self._closed:
                self._cond.wait()
            if not self._buffer and self._inbound:
                self._buffer += self._inbound.popleft()
                acknowledge = not self._closed
            out = bytes(self._buffer[:size])
            del self._buffer[:size]
        if acknowledge:
            self._connection.send(Message(A_OKAY, self.local_id, self.remote_id))
        return out

    def read_exactly(self, size: int) -> bytes:
        out = bytearray()
        while len(out) < size:
            chunk = self.read(size - len(out))
            if not chunk:
                raise EOFError(f"stream {self.service!r} closed")
            out += chunk
        return bytes(out)

    def wait_closed(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._closed, timeout)

    def close(self) -> None:
        """Close from the device side: CLSE after the last WRTE was acknowledged, once."""
        with self._cond:
            if self._close_sent:
                return
            self._cond.wait_for(lambda: not self._awaiting_ack or self._closed, CLOSE_ACK_TIMEOUT)
            self._closed = self._close_sent = True
            self._cond.notify_all()
        self._connection.send(Message(A_CLSE, self.local_id, self.remote_id))
        self._connection.forget(self)

    def _send_wrte(self, chunk: bytes) -> bool:
        with self._cond:
            while self._awaiting_ack and not self._closed:
                self._cond.wait()
            if self._closed:
                return False
            self._awaiting_ack = True
        return self._connection.send(Message(A_WRTE, self.local_id, self.remote_id, chunk))

    # ----- connection (reader thread) side -----
    def on_okay(self) -> None:
        with self._cond:
            self._awaiting_ack = False
            self._cond.notify_all()

    def on_data(self, data: bytes) -> None:
        with self._cond:
            if self._closed:
                return
            if not self._discard_input:
                if len(self._inbound) >= MAX_QUEUED_CHUNKS:
                    raise ProtocolError(f"stream {self.local_id} ignores flow control")
                self._inbound.append(data)
                self._cond.notify_all()
                return
        self._connection.send(Message(A_OKAY, self.local_id, self.remote_id))

    def on_remote_close(self) -> None:
        """The client sent CLSE, or the connection died: nothing more goes out on this stream."""
        with self._cond:
            self._closed = self._close_sent = True
            self._cond.notify_all()
