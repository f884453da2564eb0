"""Streaming benchmarks: decoder speed, sustained virtual-link streaming, a long session.

    .venv/bin/python benchmarks/bench_streaming.py            # all three, defaults below
    .venv/bin/python benchmarks/bench_streaming.py --only decode
    .venv/bin/python benchmarks/bench_streaming.py --only long --session-s 3600 --time-scale 40

Targets (docs/ble.md): decoder >= 50 MB/s; 416 Hz streaming through the virtual link (the real
firmware on Bumble, the real bleak client, the real chunked recorder) at >= 20x real time with zero
loss; a one-hour 416 Hz session in compressed time with zero loss and flat memory (RSS printed
over time).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from imu.ble.assembler import StreamAssembler  # noqa: E402
from imu.device import protocol as P  # noqa: E402
from imu.device.chip import ACC_LSB_G, GYR_LSB_DPS, ImuRecording, SampleBlock  # noqa: E402


def rss_mb() -> float:
    """Resident set size of this process (Linux /proc), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def random_recording(n: int, rate_hz: float, seed: int = 0) -> ImuRecording:
    rng = np.random.default_rng(seed)
    acc = rng.integers(-32768, 32768, (n, 3)).astype(np.int16)
    gyr = rng.integers(-32768, 32768, (n, 3)).astype(np.int16)
    zero = np.broadcast_to(np.zeros(3), (n, 3))
    return ImuRecording(np.arange(n) / rate_hz, acc, gyr, ACC_LSB_G[8], GYR_LSB_DPS[1000], 8,
                        1000, zero, zero)


def a_gaps(client: object) -> list:
    return list(client.assembler.stats.gaps[:5])  # type: ignore[attr-defined]


def bench_decode(n_packets: int = 200_000, per: int = 19) -> None:
    rng = np.random.default_rng(1)
    counts = rng.integers(-32768, 32768, (per, 6)).astype(np.int16)
    pkts = [
        P.DataPacket(seq=i * per, ticks=(i * per * 96) % (1 << 32), acc_counts=counts[:, :3],
                     gyr_counts=counts[:, 3:], rate_hz=416).encode()
        for i in range(n_packets)
    ]
    mb = sum(map(len, pkts)) / 1e6
    for batch in (50, 500, 5000):
        t0 = time.perf_counter()
        for i in range(0, n_packets, batch):
            P.decode_stream(pkts[i:i + batch])
        dt = time.perf_counter() - t0
        print(f"decode_stream, batches of {batch:5d} packets: {mb / dt:7.1f} MB/s "
              f"({n_packets * per / dt / 1e6:.2f} M samples/s)")
    a = StreamAssembler(416)
    t0 = time.perf_counter()
    for i in range(0, n_packets, 500):
        a.feed(P.decode_stream(pkts[i:i + 500]), 0.0)
    dt = time.perf_counter() - t0
    print(f"decode + assemble (dedup, reorder, clock), batches of 500: {mb / dt:7.1f} MB/s; "
          f"lost {a.stats.lost_samples}")


async def stream_virtual(session_s: float, rate_hz: int, time_scale: float, mtu: int = 247,
                         report_every_s: float = 10.0) -> None:
    """One session through VirtualSensor -> Bumble -> bleak -> SensorClient -> recorder."""
    from bumble.link import LocalLink

    from imu.ble.bumble_backend import BumbleRadio
    from imu.ble.client import SensorClient, StreamConfig
    from imu.io.chunks import ChunkedRawWriter
    from imu.virtual import VirtualSensor

    n = int(session_s * rate_hz) + 10 * rate_hz
    rec = random_recording(n, rate_hz)
    link = LocalLink()
    sensor = VirtualSensor(link, rec, time_scale=time_scale, sample_rate_hz=rate_hz)
    await sensor.start()
    radio = BumbleRadio(link, mtu=mtu)
    tmp = tempfile.TemporaryDirectory()
    writer = ChunkedRawWriter(Path(tmp.name) / "bench.raw.parquet", {"sample_rate_hz": rate_hz})
    received = [0]

    def on_block(b: SampleBlock) -> None:
        writer.append(b.t_s, b.acc_g, b.gyr_dps, b.seq)
        received[0] += len(b)

    client = SensorClient(
        name=sensor.name, config=StreamConfig(rate_hz=rate_hz), on_block=on_block,
        scanner_backend=radio.scanner_backend, client_backend=radio.client_backend,
        scan_timeout_s=5.0, watchdog_s=3.0,
    )
    stop = asyncio.Event()
    rss: list[tuple[float, float, float]] = []

    async def monitor() -> None:
        t0 = time.monotonic()
        last = 0.0
        while not stop.is_set():
            await asyncio.sleep(0.5)
            now = time.monotonic() - t0
            if now - last >= report_every_s:
                last = now
                t = client.assembler.last_t_s
                rss.append((now, t, rss_mb()))
                print(f"  host {now:6.1f} s | session {t:7.1f} s | {received[0] / now:8.0f} "
                      f"samples/s | x{t / now:5.1f} real time | RSS {rss_mb():6.1f} MB | "
                      f"queue hw {client.stats.queue_high_water}", flush=True)

    mon = asyncio.create_task(monitor())
    t0 = time.monotonic()
    await client.run(stop, duration_s=session_s)
    host_s = time.monotonic() - t0
    stop.set()
    await mon
    produced = sensor.produced
    await sensor.stop()
    path = writer.close()
    from imu.io.rawfile import read_raw

    got = read_raw(path, plausible=False)  # random counts: a transport check, not an analysis
    k = got.n_samples
    # every received sample against the chip's log at the same seq (the chip's own FIFO
    # overflows, if any, are missing from both the file and the comparison)
    idx = np.clip(np.searchsorted(produced.seq, got.seq), 0, len(produced.seq) - 1)
    exact = bool(
        np.array_equal(produced.seq[idx], got.seq)
        and np.array_equal(got.acc_g.astype(np.float32),
                           (produced.acc_counts[idx] * rec.acc_lsb_g).astype(np.float32))
        and np.array_equal(got.gyr_dps.astype(np.float32),
                           (produced.gyr_counts[idx] * rec.gyr_lsb_dps).astype(np.float32))
    )
    bad = np.flatnonzero(
        (produced.seq[idx] != got.seq)
        | (got.acc_g.astype(np.float32)
           != (produced.acc_counts[idx] * rec.acc_lsb_g).astype(np.float32)).any(axis=1)
    )
    if len(bad):
        print(f"  {len(bad)} received samples differ from the chip's log at their seq, first at "
              f"seq {got.seq[bad[0]]}, gaps at {a_gaps(client)}")
    last = int(got.seq[-1])
    missing = int(np.sum(produced.seq <= last)) - k
    a = client.assembler.stats
    print(f"{rate_hz} Hz, {session_s:g} s session, time scale {time_scale:g}, MTU {mtu}: "
          f"{k} samples in {host_s:.1f} s host = {k / host_s:.0f} samples/s, "
          f"produced by the chip but not received: {missing}, "
          f"x{got.t_s[-1] / host_s:.1f} real time; lost {a.lost_samples}, duplicates "
          f"{a.duplicates}, overflow drops {client.stats.overflow_dropped}, "
          f"bit-identical to the chip: {exact}; notifications {client.stats.notifications}; "
          f"resend requests {a.resend_requests}, gaps {a.n_gaps} {a.gaps[:3]}; "
          f"link losses {client.stats.link_losses}, watchdog {client.stats.watchdog_trips}")
    if rss:
        mem = np.array([r[2] for r in rss])
        print(f"RSS over time (MB): first {mem[0]:.1f}, last {mem[-1]:.1f}, max {mem.max():.1f};"
              f" peak (VmHWM) {peak_rss_mb():.1f} MB")
    tmp.cleanup()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=("decode", "sustained", "long"))
    ap.add_argument("--rate-hz", type=int, default=416)
    ap.add_argument("--time-scale", type=float, default=25.0)
    ap.add_argument("--session-s", type=float, default=3600.0, help="long session length")
    ap.add_argument(
        "--long-time-scale", type=float, default=10.0,
        help="time scale of the long session (kept below what the host stack sustains)",
    )
    ap.add_argument("--bumble-formatting", action="store_true",
                    help="keep Bumble's eager per-packet debug formatting (slower)")
    args = ap.parse_args()
    logging.getLogger("bumble").setLevel(logging.ERROR)
    if not args.bumble_formatting:
        from imu.ble.stack import fast_bumble_formatting

        print(f"fast Bumble formatting: {fast_bumble_formatting()}")
    if args.only in (None, "decode"):
        print("== decoder")
        bench_decode()
    if args.only in (None, "sustained"):
        print("== sustained streaming, 120 s session")
        asyncio.run(stream_virtual(120.0, args.rate_hz, args.time_scale, report_every_s=2.0))
    if args.only in (None, "long"):
        print(f"== long session, {args.session_s:g} s")
        asyncio.run(stream_virtual(args.session_s, args.rate_hz, args.long_time_scale,
                                   report_every_s=15.0))


if __name__ == "__main__":
    main()
