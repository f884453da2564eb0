"""GATT server on MicroPython's low-level ``bluetooth`` module (docs/protocol.md, docs/ble.md).

Services: the IMU service (data notify, control write, status read+notify), Battery (0x180F)
and Device Information (0x180A). The IRQ handler only records events; control writes are
copied into a small queue that the main loop drains, so I2C work never runs inside the IRQ.

Security (docs/ble.md): LE Secure Connections pairing with bonding, "Just Works" (the board has
no display or keyboard: IO capability NoInputNoOutput). The bond secrets live in
:class:`imu_fw.bonds.Bonds` on flash. Until a central has bonded, anyone in range may control
the sensor (first use); from then on the control characteristic requires an encrypted link
(the stack answers an unencrypted write with ATT error 0x0F), and a write on a link that is
encrypted but not with a stored bond (a central whose pairing was refused) is ignored and
that central disconnected. New bonds are accepted only while the sensor holds none, or within
``pairing_window_ms`` of power-on.
"""

import time

import bluetooth
from micropython import const

from imu_fw import proto

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_GATTS_WRITE = const(3)
_IRQ_MTU_EXCHANGED = const(21)
_IRQ_ENCRYPTION_UPDATE = const(28)
_IRQ_GET_SECRET = const(29)
_IRQ_SET_SECRET = const(30)
_IRQ_PASSKEY_ACTION = const(31)

_FLAG_READ = const(0x0002)
_FLAG_WRITE = const(0x0008)
_FLAG_NOTIFY = const(0x0010)
_FLAG_WRITE_ENCRYPTED = const(0x1000)

_IO_CAPABILITY_NO_INPUT_OUTPUT = const(3)

_ADV_FLAGS = const(0x01)
_ADV_NAME = const(0x09)
_ADV_UUID128 = const(0x07)

_QUEUE = const(8)


def _services(control_flags: int) -> tuple:
    imu = (
        bluetooth.UUID(proto.SERVICE_UUID),
        (
            (bluetooth.UUID(proto.DATA_UUID), _FLAG_NOTIFY),
            (bluetooth.UUID(proto.CONTROL_UUID), control_flags),
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
    def __init__(self, name: str, manufacturer: str, model: str, firmware: str, bonds,
                 pairing_window_ms: int = 120000) -> None:
        self.name = name
        self.info = (manufacturer, model, firmware)
        self.bonds = bonds
        self.boot_ms = time.ticks_ms()
        self.pairing_window_ms = pairing_window_ms
        self.ble = bluetooth.BLE()
        self.ble.active(True)
        self.ble.config(gap_name=name)
        try:
            self.ble.config(mtu=proto.PREFERRED_MTU)
        except (ValueError, OSError):
            pass
        self.secure = self._configure_security()
        """Whether this port's stack pairs and bonds (NimBLE ports); else it runs open."""
        self.ble.irq(self._irq)
        self.locked = False
        self.register()
        self.adv, self.resp = advertising_payloads(name)
        self.conn = -1
        self.mtu = 23
        self.connected_changed = False
        self.mtu_changed = False
        self.exchange_mtu = False
        self.encrypted = False
        """The current link is encrypted."""
        self.bonded_link = False
        """... with keys of a stored bond."""
        self.refused = False
        """A pairing on the current link was refused its bond (a stranger after the window)."""
        self.security_changed = False
        self.drop = False
        """Disconnect the current central (it tried to control a bonded sensor untrusted)."""
        # Control writes: fixed slots filled in the IRQ, drained by the main loop, each with
        # whether its link was trusted when it arrived.
        self.queue = [b""] * _QUEUE
        self.trust = [False] * _QUEUE
        self.q_in = 0
        self.q_out = 0

    def _configure_security(self) -> bool:
        try:
            self.ble.config(bond=True, le_secure=True, mitm=False,
                            io=_IO_CAPABILITY_NO_INPUT_OUTPUT)
            return True
        except (ValueError, OSError, TypeError):
            return False

    def register(self) -> None:
        """(Re-)register the services: the control characteristic needs an encrypted link
        once the sensor holds a bond. Only while no central is connected and not advertising
        (handles stay the same: same definitions in the same order)."""
        self.locked = self.secure and self.bonds.bonded()
        control = _FLAG_WRITE | (_FLAG_WRITE_ENCRYPTED if self.locked else 0)
        ((self.h_data, self.h_control, self.h_status), (self.h_battery,),
         (h_manu, h_model, h_fw)) = self.ble.gatts_register_services(_services(control))
        manufacturer, model, firmware = self.info
        self.ble.gatts_write(h_manu, manufacturer.encode())
        self.ble.gatts_write(h_model, model.encode())
        self.ble.gatts_write(h_fw, firmware.encode())
        self.ble.gatts_set_buffer(self.h_control, 16)

    def pairing_open(self) -> bool:
        """May a new central bond now? While no bond is stored, or within the window after
        power-on (power-cycling the sensor is the physical act that allows a new host)."""
        if not self.bonds.bonded():
            return True
        return time.ticks_diff(time.ticks_ms(), self.boot_ms) < self.pairing_window_ms

    def trusted(self) -> bool:
        """May the connected central control the sensor? Before any bond: yes (first use).
        Once bonded: only over a link encrypted with a stored bond's keys."""
        if not (self.secure and self.bonds.bonded()):
            return True
        return self.encrypted and self.bonded_link and not self.refused

    def advertise(self) -> None:
        self.ble.gap_advertise(100000, adv_data=self.adv, resp_data=self.resp or None)

    def _irq(self, event: int, data: tuple):
        if event == _IRQ_CENTRAL_CONNECT:
            self.conn = data[0]
            self.mtu = 23
            self.encrypted = self.bonded_link = self.refused = self.drop = False
            self.connected_changed = True
            self.exchange_mtu = True
        elif event == _IRQ_CENTRAL_DISCONNECT:
            if data[0] == self.conn:
                self.conn = -1
                self.encrypted = self.bonded_link = self.refused = self.drop = False
                self.connected_changed = True
        elif event == _IRQ_GATTS_WRITE:
            if data[1] == self.h_control and self.q_in - self.q_out < _QUEUE:
                self.queue[self.q_in % _QUEUE] = self.ble.gatts_read(self.h_control)
                self.trust[self.q_in % _QUEUE] = data[0] == self.conn and self.trusted()
                self.q_in += 1
        elif event == _IRQ_MTU_EXCHANGED:
            if data[0] == self.conn:
                self.mtu = data[1]
                self.mtu_changed = True
        elif event == _IRQ_ENCRYPTION_UPDATE:
            if data[0] == self.conn:
                self.encrypted = bool(data[1])
                self.bonded_link = bool(data[3])
                self.security_changed = True
        elif event == _IRQ_GET_SECRET:
            return self.bonds.get(data[0], data[1], data[2])
        elif event == _IRQ_SET_SECRET:
            ok = self.bonds.set(data[0], data[1], data[2], self.pairing_open())
            if not ok and data[2] is not None:
                self.refused = True  # a stranger after the pairing window
            return ok
        elif event == _IRQ_PASSKEY_ACTION:
            # NoInputNoOutput: Just Works needs no passkey; refuse anything else.
            try:
                self.ble.gap_passkey(data[0], data[1], 0)
            except (OSError, AttributeError):
                pass
        return None

    def next_command(self):  # -> (bytes, trusted) | None
        """The oldest queued control write and whether its link was trusted, or None."""
        if self.q_out == self.q_in:
            return None
        slot = self.q_out % _QUEUE
        self.q_out += 1
        return self.queue[slot], self.trust[slot]

    def disconnect(self) -> None:
        if self.conn >= 0:
            try:
                self.ble.gap_disconnect(self.conn)
            except (OSError, AttributeError):
                pass

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
