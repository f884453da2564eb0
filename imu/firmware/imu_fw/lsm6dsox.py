"""LSM6DSOX driver (I2C): output data rate and full scales, FIFO in continuous mode batching
gyro + accelerometer + timestamp words, raw word reads into a preallocated buffer.

Registers from the ST data sheet DS12814 and application note AN5272. (The LSM6DS3TR-C of the
XIAO nRF52840 Sense answers WHO_AM_I 0x6A but has an untagged FIFO: not supported yet.)
"""

import time

from micropython import const

WHO_AM_I_LSM6DSOX = const(0x6C)
WHO_AM_I_LSM6DS3TRC = const(0x6A)

_FIFO_CTRL1 = const(0x07)
_FIFO_CTRL2 = const(0x08)
_FIFO_CTRL3 = const(0x09)
_FIFO_CTRL4 = const(0x0A)
_WHO_AM_I = const(0x0F)
_CTRL1_XL = const(0x10)
_CTRL2_G = const(0x11)
_CTRL3_C = const(0x12)
_CTRL10_C = const(0x19)
_FIFO_STATUS1 = const(0x3A)
_TIMESTAMP0 = const(0x40)
_FIFO_DATA_OUT_TAG = const(0x78)

TAG_GYRO = const(0x01)
TAG_ACC = const(0x02)
TAG_TIMESTAMP = const(0x04)
WORD = const(7)
"""A FIFO word: tag byte + 6 data bytes."""
FIFO_WORDS = const(512)

_STATUS2_OVR = const(0x40 | 0x08)  # FIFO_OVR_IA | FIFO_OVR_LATCHED
_ODR_CODE = {52: 3, 104: 4, 208: 5, 416: 6}  # same codes for ODR_XL, ODR_G and FIFO BDR
_FS_XL = {2: 0, 16: 1, 4: 2, 8: 3}
_FS_G = {125: 0x2, 250: 0x0, 500: 0x4, 1000: 0x8, 2000: 0xC}


class LSM6DSOX:
    def __init__(self, i2c, addr: int = 0x6A, chunk_words: int = 24) -> None:
        self.i2c = i2c
        self.addr = addr
        self._b1 = bytearray(1)
        self._b2 = bytearray(2)
        self.ts_buf = bytearray(4)
        self.chunk_words = chunk_words
        self.buf = bytearray(chunk_words * WORD)
        mv = memoryview(self.buf)
        # One view per read length, made once: slicing in the loop would allocate.
        self.views = [mv[: k * WORD] for k in range(chunk_words + 1)]
        self.level = 0
        self.overflow = False

    def _write(self, reg: int, value: int) -> None:
        self._b1[0] = value
        self.i2c.writeto_mem(self.addr, reg, self._b1)

    def _read(self, reg: int) -> int:
        self.i2c.readfrom_mem_into(self.addr, reg, self._b1)
        return self._b1[0]

    def who_am_i(self) -> int:
        return self._read(_WHO_AM_I)

    def present(self) -> bool:
        try:
            return self.who_am_i() == WHO_AM_I_LSM6DSOX
        except OSError:
            return False

    def reset(self) -> None:
        """Software reset, then block data update + register auto-increment."""
        self._write(_CTRL3_C, 0x01)
        for _ in range(50):
            if not self._read(_CTRL3_C) & 0x01:
                break
            time.sleep_ms(1)
        self._write(_CTRL3_C, 0x44)

    def configure(self, rate_hz: int, acc_range_g: int, gyr_range_dps: int) -> None:
        odr = _ODR_CODE[rate_hz]
        self._write(_CTRL1_XL, odr << 4 | _FS_XL[acc_range_g] << 2)
        self._write(_CTRL2_G, odr << 4 | _FS_G[gyr_range_dps])
        self._write(_CTRL10_C, 0x20)  # TIMESTAMP_EN

    def fifo_start(self, rate_hz: int, watermark_words: int) -> None:
        """Clear the FIFO (bypass) and batch gyro, acc and a timestamp per sample, continuous."""
        self._write(_FIFO_CTRL4, 0x00)
        self._write(_FIFO_CTRL1, watermark_words & 0xFF)
        self._write(_FIFO_CTRL2, (watermark_words >> 8) & 0x01)
        bdr = _ODR_CODE[rate_hz]
        self._write(_FIFO_CTRL3, bdr << 4 | bdr)
        self._write(_FIFO_CTRL4, 0x40 | 0x06)  # DEC_TS_BATCH = 1, FIFO_MODE = continuous

    def stop(self) -> None:
        self._write(_FIFO_CTRL4, 0x00)
        self._write(_CTRL1_XL, 0x00)
        self._write(_CTRL2_G, 0x00)

    def fifo_status(self) -> int:
        """Update ``level`` (unread words) and ``overflow`` (latched since the last call)."""
        self.i2c.readfrom_mem_into(self.addr, _FIFO_STATUS1, self._b2)
        self.level = self._b2[0] | (self._b2[1] & 0x03) << 8
        self.overflow = (self._b2[1] & _STATUS2_OVR) != 0
        return self.level

    def read_words(self, n: int) -> None:
        """Burst-read ``n`` <= chunk_words FIFO words into ``buf`` (the address rolls back from
        FIFO_DATA_OUT_Z_H to FIFO_DATA_OUT_TAG, AN5272)."""
        self.i2c.readfrom_mem_into(self.addr, _FIFO_DATA_OUT_TAG, self.views[n])

    def timestamp_into(self) -> bytearray:
        """Current 32-bit timestamp counter, raw little-endian bytes into ``ts_buf``."""
        self.i2c.readfrom_mem_into(self.addr, _TIMESTAMP0, self.ts_buf)
        return self.ts_buf
