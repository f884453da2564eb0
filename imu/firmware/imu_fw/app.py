"""The sensor's main loop (an asyncio task, the same code on the board and on the host).

Every ~20 ms: drain the IMU FIFO into the ring (one sample = gyro + acc + timestamp words),
handle queued control writes, cut packets sized to the MTU from the ring and notify them. The
per-sample path does not allocate: preallocated bytearrays, byte copies, precomputed views.
Sequence numbers count the chip's samples since START; a FIFO overflow leaves a hole in the seq
sized from the timestamp gap (docs/protocol.md), so a seq jump always means lost samples.
"""

import asyncio
import os
import struct
import time

from micropython import const

from imu_fw import VERSION, VERSION_STR, proto
from imu_fw.ble import Server
from imu_fw.board import Board
from imu_fw.bonds import PATH as BONDS_PATH
from imu_fw.bonds import Bonds
from imu_fw.lsm6dsox import FIFO_WORDS, LSM6DSOX, TAG_ACC, TAG_GYRO, TAG_TIMESTAMP
from imu_fw.ring import AFTER_OVERFLOW, MISSING, VALID, Ring

try:
    import imu_config as config  # optional per-device overrides (NAME, RATE_HZ, ...)
except ImportError:
    config = None

POLL_MS = const(20)
_STATUS_MS = const(1000)
_FLUSH_MS = const(200)
"""A partial packet is sent once no packet has gone out for this long."""
_MAX_PACKETS_PER_POLL = const(12)
_WORD = const(7)
_TICKS_PER_S = const(40000)


def _cfg(name: str, default):
    return getattr(config, name, default) if config is not None else default


def _random16() -> int:
    try:
        r = os.urandom(2)
        return r[0] | r[1] << 8
    except (AttributeError, OSError, NotImplementedError):
        return time.ticks_us() & 0xFFFF


class App:
    def __init__(self, board: Board | None = None) -> None:
        self.board = board or Board()
        self.rate_hz = _cfg("RATE_HZ", 104)
        self.acc_range_g = _cfg("ACC_RANGE_G", 8)
        self.gyr_range_dps = _cfg("GYR_RANGE_DPS", 1000)
        self.ranges = proto.ranges_code(self.acc_range_g, self.gyr_range_dps, self.rate_hz)
        self.imu = LSM6DSOX(self.board.i2c, self.board.imu_addr)
        self.chip_ok = self.imu.present()
        if self.chip_ok:
            self.imu.reset()
        self.ring = Ring(_cfg("RING_SAMPLES", self.board.ring_capacity))
        self.name = _cfg("NAME", proto.NAME_PREFIX + self.board.name_suffix())
        self.bonds = Bonds(_cfg("BONDS_PATH", BONDS_PATH))
        self.server = Server(self.name, "imu project", self.board.kind, VERSION_STR, self.bonds,
                             pairing_window_ms=int(_cfg("PAIRING_WINDOW_S", 120) * 1000))
        self.epoch = _random16()
        self.running = False
        self.streaming = False
        self.send_seq = 0
        self.sent_high = 0
        """One past the highest sequence number ever sent in this session."""
        self.last_error = proto.ERR_OK
        self.fifo_overflows = 0
        self.ring_lost = False
        self.packets_sent = 0
        self.sync_token = 0
        self.sync_ticks = 0
        self.status_buf = bytearray(proto.STATUS_SIZE)
        self.battery_buf = bytearray(1)
        self.pkt = bytearray(proto.PREFERRED_MTU - 3)
        self.last_send_ms = time.ticks_ms()
        self.last_status_ms = time.ticks_ms()
        self.status_dirty = True
        self.gap_ticks = 0
        self._reset_parser()
        self._set_mtu(23)

    # --- configuration ---------------------------------------------------------------------
    def _set_mtu(self, mtu: int) -> None:
        if mtu > proto.PREFERRED_MTU:
            mtu = proto.PREFERRED_MTU
        self.mtu = mtu
        self.maxn = proto.max_samples(mtu)
        self.hdr = proto.header_size(mtu)
        self.compact = proto.FLAG_COMPACT if self.hdr == proto.COMPACT_HEADER_SIZE else 0
        mv = memoryview(self.pkt)
        self.views = [mv[: self.hdr + proto.SAMPLE_SIZE * n] for n in range(self.maxn + 1)]

    def _reset_parser(self) -> None:
        self.need_ts = True
        self.have = 0
        self.cur_ts24 = 0
        self.last_ms = time.ticks_ms()
        self.drain_ms = self.last_ms
        self.verify = False
        self.long_gap = False
        self.unconfirmed = -1
        """Seq of the sample stored last in resync mode, until a timestamp confirms it."""
        self.last_ts24 = -1
        self.ovf_pending = False
        self.next_state = VALID

    def start_session(self) -> int:
        if not self.chip_ok:
            return proto.ERR_BAD_VALUE
        self.ring.clear()
        self.send_seq = 0
        self.sent_high = 0
        self.fifo_overflows = 0
        self.ring_lost = False
        self.epoch = (self.epoch + 1) & 0xFFFF
        self._reset_parser()
        self.gap_ticks = (3 * _TICKS_PER_S // 2 + self.rate_hz - 1) // self.rate_hz
        """A timestamp step of this many ticks or more (1.5 periods) means lost samples."""
        self.imu.configure(self.rate_hz, self.acc_range_g, self.gyr_range_dps)
        wm = 3 * (self.rate_hz * POLL_MS // 1000 + 1)
        self.imu.fifo_start(self.rate_hz, wm)
        self.running = True
        return proto.ERR_OK

    def stop_session(self) -> None:
        if self.running:
            self.imu.stop()
        self.running = False
        self.streaming = False

    def handle(self, cmd: bytes, trusted: bool = True) -> None:
        """Apply one control write (docs/protocol.md, control characteristic). A write from an
        untrusted link of a bonded sensor (docs/ble.md) is ignored and its central dropped."""
        op, a, b, err = proto.decode_control(cmd)
        if not trusted:
            err = proto.ERR_NOT_BONDED
            self.server.drop = True
        if err == proto.ERR_OK:
            if op == proto.OP_START:
                if not self.running:
                    err = self.start_session()
                else:
                    self.send_seq = self.sent_high
                self.streaming = self.running
            elif op == proto.OP_STOP:
                self.stop_session()
            elif op == proto.OP_SET_RATE:
                if self.running:
                    err = proto.ERR_BUSY
                elif a not in proto.RATES_HZ:
                    err = proto.ERR_BAD_VALUE
                else:
                    self.rate_hz = a
            elif op == proto.OP_SET_RANGES:
                if self.running:
                    err = proto.ERR_BUSY
                elif a not in proto.ACC_RANGES_G or b not in proto.GYR_RANGES_DPS:
                    err = proto.ERR_BAD_VALUE
                else:
                    self.acc_range_g = a
                    self.gyr_range_dps = b
            elif op == proto.OP_RESEND:
                oldest = self.ring.oldest()
                if a < oldest:
                    a = oldest
                    err = proto.ERR_RESEND_TRUNCATED
                if a > self.ring.head:
                    a = self.ring.head
                self.send_seq = a
                self.streaming = True
            elif op == proto.OP_TIME_SYNC:
                self.sync_token = a
                self.sync_ticks = struct.unpack_from("<I", self.imu.timestamp_into(), 0)[0]
        self.ranges = proto.ranges_code(self.acc_range_g, self.gyr_range_dps, self.rate_hz)
        self.last_error = err
        self.status_dirty = True

    # --- FIFO -> ring ----------------------------------------------------------------------
    def drain(self) -> None:
        """Read every FIFO word into the ring.

        The chip keeps sampling while we read. If its FIFO overruns, the oldest unread words
        are overwritten, so the stream we read jumps ahead; the status read after every burst
        says whether that happened since the previous status read, i.e. at the start of, inside,
        or right after the burst just read. Such a burst is parsed in resync mode (``_parse``):
        the partial sample on either side is dropped and a sample is kept only once the next
        timestamp word of the burst shows no gap. Every timestamp is checked against the last
        stored one, so any jump leaves a hole of exactly the missing samples in the seq.
        """
        imu = self.imu
        self.drain_ms = time.ticks_ms()
        self.long_gap = time.ticks_diff(self.drain_ms, self.last_ms) > 200_000
        level = imu.fifo_status()
        if imu.overflow:
            self._overrun()
        chunk = imu.chunk_words
        budget = 2 * FIFO_WORDS  # the chip samples while we read: bound one drain
        while level > 0 and budget > 0:
            n = level if level < chunk else chunk
            imu.read_words(n)
            budget -= n
            level = imu.fifo_status()
            if imu.overflow:
                self._overrun()
                self.verify = True
                self._parse(n)
                self.verify = False
                self._drop_unconfirmed()
                self.need_ts = True  # the jump may follow this burst: drop its partial tail
            else:
                self._parse(n)

    def _overrun(self) -> None:
        """The chip overwrote unread words: resynchronise on the next timestamp word."""
        self.fifo_overflows += 1
        self.need_ts = True
        self.ovf_pending = True

    def _drop_unconfirmed(self) -> None:
        """The last sample stored in resync mode may straddle the jump: make it a hole."""
        u = self.unconfirmed
        if u >= 0:
            self.ring.state[u % self.ring.capacity] = MISSING
            self.unconfirmed = -1
            self.ovf_pending = True

    def _lost(self, ts24: int) -> int:
        """Samples missing between the last stored sample and one stamped ``ts24``.

        The 24-bit tick difference wraps after 419 s; a longer gap (only possible when the main
        loop was stalled that long) takes its whole wraps from the MCU's own clock."""
        d = (ts24 - self.last_ts24) & 0xFFFFFF
        el_ms = time.ticks_diff(self.drain_ms, self.last_ms)
        if el_ms > 200_000:  # rare: big integers are fine here
            d += ((el_ms * (_TICKS_PER_S // 1000) - d + 0x800000) >> 24) << 24
        return (d * self.rate_hz + _TICKS_PER_S // 2) // _TICKS_PER_S - 1

    def _parse(self, n: int) -> None:
        """Assemble samples from ``n`` words: a timestamp word, then one gyro and one acc word.
        A word that does not fit (a jump in the stream) drops the partial sample; a timestamp
        gap to the last stored sample leaves a hole of the missing samples (in resync mode it
        also drops that last sample if stored from this burst: it may straddle the jump)."""
        buf = self.imu.buf
        ring = self.ring
        data = ring.data
        ts = ring.ts
        cap = ring.capacity
        for w in range(n):
            o = w * _WORD
            tag = buf[o] >> 3
            if tag == TAG_TIMESTAMP:
                ts24 = buf[o + 1] | buf[o + 2] << 8 | buf[o + 3] << 16
                d = (ts24 - self.last_ts24) & 0xFFFFFF
                if self.last_ts24 >= 0 and (d >= self.gap_ticks or self.long_gap):
                    lost = self._lost(ts24)
                    if lost > 0:
                        if self.unconfirmed >= 0:
                            ring.state[self.unconfirmed % cap] = MISSING
                        ring.skip(lost)
                        self.ovf_pending = True
                self.unconfirmed = -1
                if self.ovf_pending:
                    self.next_state = AFTER_OVERFLOW
                    self.ovf_pending = False
                s = (ring.head % cap) * 4
                ts[s] = buf[o + 1]
                ts[s + 1] = buf[o + 2]
                ts[s + 2] = buf[o + 3]
                ts[s + 3] = buf[o + 4]
                self.cur_ts24 = ts24
                self.have = 0
                self.need_ts = False
            elif self.need_ts:
                continue
            elif tag == TAG_ACC or tag == TAG_GYRO:
                bit = 2 if tag == TAG_GYRO else 1
                if self.have & bit:
                    # a second word of one sensor: the words between were overwritten
                    self.need_ts = True
                    self.ovf_pending = True
                    continue
                self.have |= bit
                s = (ring.head % cap) * 12
                if bit == 2:
                    s += 6
                data[s] = buf[o + 1]
                data[s + 1] = buf[o + 2]
                data[s + 2] = buf[o + 3]
                data[s + 3] = buf[o + 4]
                data[s + 4] = buf[o + 5]
                data[s + 5] = buf[o + 6]
                if self.have == 3:
                    if ring.head - self.send_seq >= cap:
                        # The oldest unsent sample is about to be overwritten: lost for good.
                        self.send_seq = ring.head - cap + 1
                        self.ring_lost = True
                    if self.verify:
                        self.unconfirmed = ring.head
                    ring.commit(self.next_state)
                    self.next_state = VALID
                    self.last_ts24 = self.cur_ts24
                    self.last_ms = self.drain_ms
                    self.have = 0
                    self.need_ts = True

    # --- ring -> notifications -------------------------------------------------------------
    def send(self, now_ms: int) -> None:
        srv = self.server
        if not self.streaming or srv.conn < 0:
            return
        ring = self.ring
        state = ring.state
        data = ring.data
        pkt = self.pkt
        cap = ring.capacity
        for _ in range(_MAX_PACKETS_PER_POLL):
            seq = self.send_seq
            oldest = ring.oldest()
            if seq < oldest:
                seq = oldest
                self.ring_lost = True
            while seq < ring.head and state[seq % cap] == MISSING:
                seq += 1  # a hole left by a FIFO overflow
            self.send_seq = seq
            if seq >= ring.head:
                return
            n = ring.run(seq, self.maxn)
            if (n < self.maxn and seq + n == ring.head and seq >= self.sent_high
                    and time.ticks_diff(now_ms, self.last_send_ms) < _FLUSH_MS):
                return  # wait for a full packet
            slot = seq % cap
            flags = self.compact
            if state[slot] == AFTER_OVERFLOW:
                flags |= proto.FLAG_OVERFLOW
            if seq < self.sent_high:
                flags |= proto.FLAG_RESEND
            h = proto.write_header(pkt, flags, self.ranges, n, self.epoch, seq, ring.ts, slot * 4)
            src = slot * 12
            for i in range(n * 12):
                pkt[h + i] = data[src + i]
            if not srv.notify_data(self.views[n]):
                return
            self.send_seq = seq + n
            if seq + n > self.sent_high:
                self.sent_high = seq + n
            self.packets_sent += 1
            self.last_send_ms = now_ms

    # --- status ----------------------------------------------------------------------------
    def update_status(self, notify: bool) -> None:
        flags = 0
        if self.running:
            flags |= proto.STATUS_RUNNING
        if self.streaming and self.server.conn >= 0:
            flags |= proto.STATUS_STREAMING
        if self.ring_lost:
            flags |= proto.STATUS_RING_LOST
        if self.chip_ok:
            flags |= proto.STATUS_CHIP_OK
        srv = self.server
        if srv.locked or (srv.secure and self.bonds.bonded()):
            flags |= proto.STATUS_BONDED
        if srv.conn >= 0 and srv.encrypted and srv.trusted():
            flags |= proto.STATUS_SECURE
        if srv.secure and srv.pairing_open():
            flags |= proto.STATUS_PAIRING
        battery = self.board.battery_pct()
        proto.encode_status(self.status_buf, flags, battery, VERSION[0], VERSION[1],
                            self.ranges, self.last_error, self.epoch, self.fifo_overflows,
                            self.ring.fill(), self.packets_sent, self.ring.head, self.sync_token,
                            self.sync_ticks, self.ring.capacity)
        self.server.set_status(self.status_buf, notify)
        self.server.set_battery(battery, self.battery_buf)
        self.status_dirty = False

    # --- main loop -------------------------------------------------------------------------
    def step(self) -> None:
        srv = self.server
        now = time.ticks_ms()
        if srv.connected_changed:
            srv.connected_changed = False
            self.streaming = False
            self.board.led(srv.conn >= 0)
            if srv.conn < 0:
                self._set_mtu(23)
                if srv.secure and srv.locked != self.bonds.bonded():
                    srv.register()  # the first bond: control now needs an encrypted link
                srv.advertise()
            self.status_dirty = True
        if srv.security_changed:
            srv.security_changed = False
            self.status_dirty = True
        if srv.drop:
            srv.drop = False
            srv.disconnect()
        self.bonds.save()
        if srv.exchange_mtu:
            srv.request_mtu()
        if srv.mtu_changed:
            srv.mtu_changed = False
            self._set_mtu(srv.mtu)
        item = srv.next_command()
        while item is not None:
            self.handle(item[0], item[1])
            item = srv.next_command()
        if self.running:
            self.drain()
        self.send(now)
        if self.status_dirty or time.ticks_diff(now, self.last_status_ms) >= _STATUS_MS:
            self.last_status_ms = now
            self.update_status(srv.conn >= 0)

    async def main(self) -> None:
        wdt = None
        try:
            from machine import WDT

            wdt = WDT(timeout=8000)
        except (ImportError, ValueError, OSError):
            wdt = None
        self.update_status(False)
        self.server.advertise()
        while True:
            self.step()
            if wdt is not None:
                wdt.feed()
            await asyncio.sleep_ms(POLL_MS)


def run() -> None:
    asyncio.run(App().main())
