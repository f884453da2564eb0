"""Board layer: I2C bus and address of the IMU, status LED, battery, ring size, device name.

Reference board: Arduino Nano RP2040 Connect (LSM6DSOX on I2C0, SDA GP12 / SCL GP13, 0x6A;
BLE through the u-blox NINA-W102 over HCI). Second board: Seeed XIAO nRF52840 Sense (IMU
LSM6DS3TR-C at 0x6A on the internal I2C, power on P1.08; battery divider on P0.31 enabled by
P0.14 low). The board is picked from ``sys.implementation._machine``.
"""

import sys

from machine import I2C, Pin

NANO_RP2040_CONNECT = "nano_rp2040_connect"
XIAO_NRF52840_SENSE = "xiao_nrf52840_sense"


def detect() -> str:
    machine_name = getattr(sys.implementation, "_machine", "")
    if "nRF52840" in machine_name or "XIAO" in machine_name:
        return XIAO_NRF52840_SENSE
    return NANO_RP2040_CONNECT


class Board:
    def __init__(self, kind: str = "") -> None:
        self.kind = kind or detect()
        self._led = None
        if self.kind == XIAO_NRF52840_SENSE:
            Pin("P1_08", Pin.OUT).value(1)  # IMU power
            self.i2c = I2C(1, scl=Pin("P0_27"), sda=Pin("P0_07"), freq=400000)
            self.imu_addr = 0x6A
            self.ring_capacity = 3200
            self._led_pin = "P0_26"
            self._led_on = 0
        else:
            self.i2c = I2C(0, scl=Pin(13), sda=Pin(12), freq=400000)
            self.imu_addr = 0x6A
            self.ring_capacity = 6400
            self._led_pin = 6  # LED_BUILTIN (D13) = GP6
            self._led_on = 1
        try:
            self._led = Pin(self._led_pin, Pin.OUT)
        except (ValueError, TypeError, OSError):
            self._led = None

    def led(self, on: bool) -> None:
        if self._led is not None:
            self._led.value(self._led_on if on else 1 - self._led_on)

    def battery_pct(self) -> int:
        """Battery level in percent. The Nano RP2040 Connect has no battery gauge: 100."""
        if self.kind == XIAO_NRF52840_SENSE:
            try:
                from machine import ADC

                Pin("P0_14", Pin.OUT).value(0)
                mv = ADC(Pin("P0_31")).read_u16() * 3300 * 3 // 65535  # 1M/510k divider
                pct = (mv - 3300) * 100 // (4200 - 3300)
                return 0 if pct < 0 else (100 if pct > 100 else pct)
            except (ValueError, TypeError, OSError, ImportError):
                return 100
        return 100

    def name_suffix(self) -> str:
        """Last two bytes of the unique id, hex: IMU-3F2A."""
        try:
            import machine

            uid = machine.unique_id()
            return f"{uid[-2]:02X}{uid[-1]:02X}"
        except (AttributeError, OSError):
            return "0000"
