"""RAM ring of samples indexed by sequence number, so lost notifications can be re-sent.

Per sample: 12 bytes of counts (acc xyz, gyr xyz int16, as the FIFO delivers them) and the 4 raw
bytes of the chip timestamp, plus one state byte (0 missing, 1 valid, 2 valid and first after a
FIFO overflow). Slot of sequence number s: s % capacity; samples older than head - capacity
are gone. Sizing: docs/protocol.md (Nano RP2040 Connect: 6400 samples = 100 KB).
"""

from micropython import const

SAMPLE = const(12)
MISSING = const(0)
VALID = const(1)
AFTER_OVERFLOW = const(2)


class Ring:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.data = bytearray(capacity * SAMPLE)
        self.ts = bytearray(capacity * 4)
        self.state = bytearray(capacity)
        self.data_mv = memoryview(self.data)
        self.ts_mv = memoryview(self.ts)
        self.head = 0
        """Sequence number of the next sample to store."""

    def clear(self) -> None:
        self.head = 0

    def oldest(self) -> int:
        """Oldest sequence number still held."""
        return self.head - self.capacity if self.head > self.capacity else 0

    def fill(self) -> int:
        return self.head - self.oldest()

    def slot(self, seq: int) -> int:
        return seq % self.capacity

    def commit(self, state: int) -> None:
        """The sample at slot(head) is complete: mark it and advance."""
        self.state[self.head % self.capacity] = state
        self.head += 1

    def skip(self, n: int) -> None:
        """``n`` samples were lost on the chip: leave a hole of ``n`` sequence numbers."""
        cap = self.capacity
        for i in range(n if n < cap else cap):
            self.state[(self.head + i) % cap] = MISSING
        self.head += n

    def run(self, seq: int, nmax: int) -> int:
        """How many consecutive valid samples start at ``seq`` (<= nmax), without crossing the
        end of the buffer or an overflow mark after the first sample. 0 if ``seq`` is missing."""
        if seq < self.oldest() or seq >= self.head:
            return 0
        cap = self.capacity
        i = seq % cap
        state = self.state
        if state[i] == MISSING:
            return 0
        n = self.head - seq
        if n > nmax:
            n = nmax
        if n > cap - i:
            n = cap - i
        k = 1
        while k < n:
            if state[i + k] != VALID:
                break
            k += 1
        return k
