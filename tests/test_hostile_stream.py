"""A hostile or broken stream (issue 10, findings 2, 9 and 10): a bogus sequence number is a
malformed packet, not a gap; each packet is decoded with its own full scales; control commands
are validated before they go on the air; sequence numbers never go negative.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imu.ble.assembler import StreamAssembler
from imu.ble.client import SensorClient, StreamConfig
from imu.device import protocol as P
from imu.device.chip import ACC_LSB_G, RATES_HZ, TICKS_PER_S, SampleBlock
from imu.io.rawfile import read_raw
from imu.recording import RecordOptions, record
from imu.testing.harness import Rig
from imu.testing.recordings import random_recording, small_recording

RATE = 104
logging.getLogger("bumble").setLevel(logging.ERROR)


def packet(seq: int, n: int = 10, ticks: int | None = None, acc_range_g: int = 8) -> bytes:
    counts = np.arange(n * 3, dtype=np.int16).reshape(n, 3) + seq % 1000
    t = int(round(seq * TICKS_PER_S / RATE)) if ticks is None else ticks
    return P.DataPacket(seq=seq, ticks=t, acc_counts=counts, gyr_counts=counts,
                        acc_range_g=acc_range_g, rate_hz=RATE).encode()


def feed_all(asm: StreamAssembler, packets: list[bytes], dt_s: float = 0.1
             ) -> tuple[list[SampleBlock], list[int]]:
    blocks, resends = [], []
    for i, raw in enumerate(packets):
        block, resend = asm.feed(P.decode_stream([raw]), host_s=i * dt_s)
        if block is not None:
            blocks.append(block)
        if resend is not None:
            resends.append(resend)
    return blocks, resends


# ---- finding 2: a bogus seq held the session, asked RESEND every second, lost 1e9 ----------


@pytest.mark.parametrize("bogus", [10**9, 2**31 - 5, 2**31 + 7, 2**32 - 500_000, 500_000])
def test_a_far_sequence_number_is_malformed_not_a_gap(bogus: int) -> None:
    asm = StreamAssembler(RATE, gap_timeout_s=3.0)
    good = [packet(10 * k) for k in range(200)]  # 20 s of host time at 0.1 s per packet
    stream = good[:50] + [packet(bogus, ticks=int(round(500 * TICKS_PER_S / RATE)))] + good[50:]
    blocks, resends = feed_all(asm, stream)
    seq = np.concatenate([b.seq for b in blocks])
    assert np.array_equal(seq, np.arange(2000))  # every real sample, once, in order
    assert resends == []  # no RESEND storm
    st_ = asm.stats
    assert st_.lost_samples == 0 and st_.n_gaps == 0 and st_.gaps == []
    assert st_.malformed == 1 and asm.pending == 0


@settings(max_examples=60, deadline=None)
@given(offset=st.integers(min_value=200_000, max_value=2**32 - 200_000),
       at=st.integers(min_value=1, max_value=98))
def test_any_far_sequence_number_is_dropped(offset: int, at: int) -> None:
    asm = StreamAssembler(RATE)
    good = [packet(10 * k) for k in range(100)]
    stream = good[:at] + [packet((10 * at + offset) % 2**32)] + good[at:]
    blocks, resends = feed_all(asm, stream)
    assert np.array_equal(np.concatenate([b.seq for b in blocks]), np.arange(1000))
    assert resends == [] and asm.stats.lost_samples == 0 and asm.stats.malformed == 1


def test_a_real_gap_within_the_window_is_still_filled_by_resend() -> None:
    asm = StreamAssembler(RATE)
    good = [packet(10 * k) for k in range(60)]
    late = good[20:25]
    blocks, resends = feed_all(asm, good[:20] + good[25:40] + late + good[40:])
    assert resends and resends[0] == 200  # asked for the missing range
    assert np.array_equal(np.concatenate([b.seq for b in blocks]), np.arange(600))
    assert asm.stats.lost_samples == 0 and asm.stats.malformed == 0


def test_a_bogus_packet_over_the_air_leaves_the_session_whole() -> None:
    """Through the real client and GATT stack: the mini sensor sends one valid-looking packet
    a billion samples ahead in the middle of the stream."""

    async def go() -> tuple[SensorClient, list[SampleBlock]]:
        rig = await Rig.start("mini", random_recording(20_000, RATE), time_scale=10.0)
        blocks: list[SampleBlock] = []
        client = rig.client(config=StreamConfig(rate_hz=RATE), on_block=blocks.append,
                            settle_s=0.2, sync_interval_s=0.25)
        stop = asyncio.Event()

        async def script() -> None:
            while client.assembler.stats.samples < 500:
                await asyncio.sleep(0.02)
            dev = rig.sensor.dev
            dev.inject.append(packet(dev.sent + 10**9, n=19))
            n = client.assembler.stats.samples
            while client.assembler.stats.samples < n + 3000:
                await asyncio.sleep(0.02)
            while client.assembler.pending:
                await asyncio.sleep(0.02)
            stop.set()

        task = asyncio.create_task(script())
        await asyncio.wait_for(client.run(stop), 90)
        await task
        await rig.stop()
        return client, blocks

    client, blocks = asyncio.run(go())
    seq = np.concatenate([b.seq for b in blocks])
    assert np.array_equal(seq, np.arange(len(seq))) and len(seq) >= 3500
    a = client.assembler.stats
    assert a.lost_samples == 0 and a.malformed == 1 and a.resend_requests == 0


# ---- finding 9: a device that changes its range mid-stream --------------------------------


def test_each_packet_is_decoded_with_its_own_full_scale() -> None:
    """The virtual sensor's firmware and chip switch from +-8 g to +-16 g while streaming: the
    samples of every packet are scaled by that packet's header, so a standing sensor reads
    1 g before and after (not 0.5 g after, as with the first packet's scale)."""

    async def go() -> tuple[list[bytes], list[SampleBlock]]:
        rig = await Rig.start("virtual", small_recording(RATE, duration_s=60.0), time_scale=4.0)
        packets: list[bytes] = []
        blocks: list[SampleBlock] = []
        client = rig.client(config=StreamConfig(rate_hz=RATE), on_block=blocks.append,
                            settle_s=0.2)
        listen = client._on_data

        def spy(char: object, data: bytearray) -> None:
            packets.append(bytes(data))
            listen(char, data)

        client._on_data = spy  # type: ignore[method-assign]
        stop = asyncio.Event()

        async def script() -> None:
            while client.assembler.stats.samples < 400:
                await asyncio.sleep(0.02)
            app = rig.sensor.dev.app
            proto = rig.sensor.dev.env.modules["imu_fw.proto"]
            app.acc_range_g = 16  # the device changes its range while running
            app.ranges = proto.ranges_code(16, app.gyr_range_dps, app.rate_hz)
            app.imu.configure(app.rate_hz, 16, app.gyr_range_dps)
            n = client.assembler.stats.samples
            while client.assembler.stats.samples < n + 600:
                await asyncio.sleep(0.02)
            stop.set()

        task = asyncio.create_task(script())
        await asyncio.wait_for(client.run(stop), 90)
        await task
        await rig.stop()
        return packets, blocks

    packets, blocks = asyncio.run(go())
    batch = P.decode_stream(packets)
    ranges = np.array([P.parse_ranges(int(r))[0] for r in batch.ranges])
    assert set(ranges) == {8, 16}
    seq = np.concatenate([b.seq for b in blocks])
    acc = np.concatenate([b.acc_g for b in blocks])
    first = {int(s): i for i, s in enumerate(batch.seq)}  # first transmission of each seq
    idx = np.array([first[int(s)] for s in seq])
    expected = (batch.acc_counts[idx] * np.array([ACC_LSB_G[r] for r in ranges[idx]])[:, None])
    assert np.array_equal(acc, expected.astype(np.float32))
    mag = np.linalg.norm(acc, axis=1)
    for r in (8, 16):
        assert abs(np.median(mag[ranges[idx] == r]) - 1.0) < 0.05


# ---- finding 10: smaller ones --------------------------------------------------------------


@pytest.mark.parametrize(
    "cmd",
    [P.ControlCommand.set_rate(50), P.ControlCommand.set_rate(70_000),
     P.ControlCommand.set_rate(-1), P.ControlCommand.set_ranges(3, 250),
     P.ControlCommand.set_ranges(8, 70_000), P.ControlCommand.set_ranges(300, 250),
     P.ControlCommand.resend(-1), P.ControlCommand.time_sync(-5),
     P.ControlCommand(0x42)],
)
def test_control_commands_are_validated_before_encoding(cmd: P.ControlCommand) -> None:
    with pytest.raises(ValueError) as err:
        cmd.encode()
    assert not type(err.value).__name__ == "error"  # not struct.error


@settings(max_examples=200, deadline=None)
@given(rate=st.integers(-2**40, 2**40), acc=st.integers(-2**20, 2**20),
       gyr=st.integers(-2**20, 2**20))
def test_encode_either_round_trips_or_says_value_error(rate: int, acc: int, gyr: int) -> None:
    for cmd in (P.ControlCommand.set_rate(rate), P.ControlCommand.set_ranges(acc, gyr)):
        try:
            raw = cmd.encode()
        except ValueError:
            continue
        assert P.ControlCommand.decode(raw) == cmd
        assert rate in RATES_HZ or cmd.op == P.OP_SET_RANGES


@pytest.mark.parametrize("jump", [2**31, 2**31 + 1, 2**31 + 100, 2**32 - 1])
def test_no_negative_sequence_number_after_a_half_modulus_jump(jump: int) -> None:
    batch = P.decode_stream([packet(10), packet((10 + jump) % 2**32), packet(20)])
    assert (batch.seq >= 0).all()
    assert batch.seq[0] == 10 and batch.seq[-10] == 20


def test_recorded_n_samples_is_what_the_file_holds(tmp_path: Path) -> None:
    opts = RecordOptions(out_dir=tmp_path, virtual="bridge", duration_s=3.0, time_scale=15.0,
                         analyze=False, live=False, session_name="n")
    t0 = time.monotonic()
    result = asyncio.run(record(opts))
    assert time.monotonic() - t0 < 60
    got = read_raw(tmp_path / "n.raw.parquet", plausible=False)
    assert result.n_samples == got.n_samples  # not what the sensor sent past --duration-s
    assert 3.0 - 2.0 / 104 < got.t_s[-1] <= 3.0 + 0.5 / 104
