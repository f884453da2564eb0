"""GATT server on MicroPython's low-level ``bluetooth`` module (docs/protocol.md).

Services: the IMU service (data notify, control write, status read+notify), Battery (0x180F)
and Device Information (0x180A). The IRQ handler only records events; control writes are
copied into a small queue that the main loop drains, so I2C work never runs inside the IRQ.
"""

import bluetooth
from micropython import const

from imu_fw import proto

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_GATTS_WRITE = const(3)
_IRQ_MTU_EXCHANGED = const(21)

_FLAG_READ = const(0x0002)
_FLAG_WRITE = const(0x0008)
_FLAG_NOTIFY = const(0x0010)

_ADV_FLAGS = const(0x01)
_ADV_NAME = const(0x09)
_ADV_UUID128 = const(0x07)

_QUEUE = const(8)


def _services() -> tuple:
    imu = (
        bluetooth.UUID(proto.SERVICE_UUID),
        (
            (bluetooth.UUID(proto.DATA_UUID), _FLAG_NOTIFY),
            (bluetooth.UUID(proto.CONTROL_UUID), _FLAG_WRITE),
            (bluetooth.UUID(proto.STATUS_UUID), _FLAG_READ | _FLAG_NOTIFY),
        ),
    )
    battery = (bluetooth.UUID(0x180F), ((bluetooth.UUID(0x2A19), _FLAG_READ | _FLAG_NOTIFY),))
    info = (
        bluetooth.UUID(0x180A),
        (
            (bluetooth.UUID(0x2A29), _FLAG_READ),
            (bluetooth.UUID(0x2A24), _FLAG_READ),
            (bluetooth.UUID(0x2A26), _FLAG_READ),
        ),
    )
    return (imu, battery, info)


def _ad(payload: bytearray, kind: int, value: bytes) -> bytearray:
    payload += bytes((len(value) + 1, kind))
    payload += value
    return payload


def advertising_payloads(name: str) -> tuple:
    """(advertising data, scan response): flags + complete name, and the 128-bit service UUID
    in the advertising data if it fits in 31 bytes, else in the scan response."""
    adv = _ad(bytearray(), _ADV_FLAGS, b"\x06")
    adv = _ad(adv, _ADV_NAME, name.encode())
    uuid = bytes(bluetooth.UUID(proto.SERVICE_UUID))
    resp = bytearray()
    if len(adv) + 2 + len(uuid) <= 31:
        adv = _ad(adv, _ADV_UUID128, uuid)
    else:
        resp = _ad(resp, _ADV_UUID128, uuid)
    return bytes(adv), bytes(resp)


class Server:
    def __init__(self, name: str, manufacturer: str, model: str, firmware: str) -> None:
        self.name = name
        self.ble = bluetooth.BLE()
        self.ble.active(True)
        self.ble.config(gap_name=name)
        try:
            self.ble.config(mtu=proto.PREFERRED_MTU)
        except (ValueError, OSError):
            pass
        self.ble.irq(self._irq)
        ((self.h_data, self.h_control, self.h_status), (self.h_battery,),
         (h_manu, h_model, h_fw)) = self.ble.gatts_register_services(_services())
        self.ble.gatts_write(h_manu, manufacturer.encode())
        self.ble.gatts_write(h_model, model.encode())
        self.ble.gatts_write(h_fw, firmware.encode())
        self.ble.gatts_set_buffer(self.h_control, 16)
        self.adv, self.resp = advertising_payloads(name)
        self.conn = -1
        self.mtu = 23
        self.connected_changed = False
        self.mtu_changed = False
        self.exchange_mtu = False
        # Control writes: fixed slots filled in the IRQ, drained by the main loop.
        self.queue = [b""] * _QUEUE
        self.q_in = 0
        self.q_out = 0

    def advertise(self) -> None:
        self.ble.gap_advertise(100000, adv_data=self.adv, resp_data=self.resp or None)

    def _irq(self, event: int, data: tuple) -> None:
        if event == _IRQ_CENTRAL_CONNECT:
            self.conn = data[0]
            self.mtu = 23
            self.connected_changed = True
            self.exchange_mtu = True
        elif event == _IRQ_CENTRAL_DISCONNECT:
            if data[0] == self.conn:
                self.conn = -1
                self.connected_changed = True
        elif event == _IRQ_GATTS_WRITE:
            if data[1] == self.h_control and self.q_in - self.q_out < _QUEUE:
                self.queue[self.q_in % _QUEUE] = self.ble.gatts_read(self.h_control)
                self.q_in += 1
        elif event == _IRQ_MTU_EXCHANGED:
            if data[0] == self.conn:
                self.mtu = data[1]
                self.mtu_changed = True

    def next_command(self):  # -> bytes | None
        """The oldest queued control write, or None."""
        if self.q_out == self.q_in:
            return None
        cmd = self.queue[self.q_out % _QUEUE]
        self.q_out += 1
        return cmd

    def request_mtu(self) -> None:
        self.exchange_mtu = False
        if self.conn >= 0:
            try:
                self.ble.gattc_exchange_mtu(self.conn)
            except (OSError, AttributeError):
                pass

    def notify_data(self, view: memoryview) -> bool:
        """Queue one data notification; False if the stack is out of buffers (try later)."""
        try:
            self.ble.gatts_notify(self.conn, self.h_data, view)
            return True
        except OSError:
            return False

    def set_status(self, value: bytearray, notify: bool) -> None:
        self.ble.gatts_write(self.h_status, value)
        if notify and self.conn >= 0:
            try:
                self.ble.gatts_notify(self.conn, self.h_status)
            except OSError:
                pass

    def set_battery(self, pct: int, buf: bytearray) -> None:
        buf[0] = pct
        self.ble.gatts_write(self.h_battery, buf)
