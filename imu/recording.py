"""One ``imu record`` session: (optional virtual sensor) -> client -> chunked raw file -> analysis.

Kept apart from the argparse layer (:mod:`imu.commands.ble`) so tests and benchmarks call it
directly. ``virtual`` runs the sensor in-process: ``"bridge"`` / ``"run"`` simulate a session
(:func:`imu.sim.simulate`), a ``*.raw.parquet`` path replays a recording (floats converted back to
counts with the file's full scales); the sensor is :class:`imu.virtual.VirtualSensor` (the real
firmware on Bumble) linked to this host through :class:`imu.ble.bumble_backend.BumbleRadio`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import signal
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
from bumble.link import LocalLink

from imu.analysis import AnalysisResult, analyze
from imu.ble.bumble_backend import BumbleRadio
from imu.ble.client import LinkStats, SensorClient, StreamConfig
from imu.ble.stack import fast_bumble_formatting
from imu.core.errors import InputError
from imu.core.options import check_identifier
from imu.device.chip import (
    ACC_LSB_G,
    DEFAULT_ACC_RANGE_G,
    DEFAULT_GYR_RANGE_DPS,
    DEFAULT_RATE_HZ,
    GYR_LSB_DPS,
    RATES_HZ,
    ImuRecording,
    SampleBlock,
    quantise,
)
from imu.io.chunks import RAW_SUFFIX, ChunkedRawWriter, recover_leftovers
from imu.io.rawfile import read_raw
from imu.io.store import inside
from imu.pipeline.live import LiveStatus
from imu.sim import simulate
from imu.sim.sensor import SensorModel
from imu.virtual import VirtualSensor

log = logging.getLogger(__name__)


@dataclass
class RecordOptions:
    out_dir: Path
    name: str | None = None
    address: str | None = None
    rate_hz: int = DEFAULT_RATE_HZ
    acc_range_g: int = DEFAULT_ACC_RANGE_G
    gyr_range_dps: int = DEFAULT_GYR_RANGE_DPS
    duration_s: float | None = None
    placement: str | None = None
    activity: str | None = None
    exercise: str | None = None
    trunk_length_m: float | None = None
    virtual: str | None = None
    time_scale: float = 1.0
    scan_timeout_s: float = 10.0
    analyze: bool = True
    session_name: str | None = None
    live: bool = True
    seed: int = 0
    client_kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class RecordResult:
    path: Path | None
    n_samples: int
    lost_samples: int
    stats: LinkStats
    gaps: list[tuple[int, int, str]]
    malformed: int = 0
    analysis_dir: Path | None = None
    analysis: AnalysisResult | None = None
    """The analysis of the recording (the command line prints its report)."""
    recovered: list[Path] = field(default_factory=list)
    sensor: Any = None
    """The in-process virtual sensor (for comparisons), None for hardware."""


def virtual_recording(opts: RecordOptions) -> tuple[ImuRecording, dict[str, Any]]:
    """The counts the virtual sensor will produce, plus the metadata they imply."""
    kind = opts.virtual
    if kind in ("bridge", "run"):
        model = SensorModel(acc_range_g=opts.acc_range_g, gyr_range_dps=opts.gyr_range_dps)
        common = dict(sample_rate_hz=float(opts.rate_hz), seed=opts.seed, sensor_model=model)
        if opts.placement:
            common["placement"] = opts.placement
        if kind == "bridge":
            sim = simulate(
                "strength", exercise="glute_bridge", n_sets=1, reps_per_set=5,
                rest_s=(5.0, 5.0), walking=False, **common,
            )
            meta = {"activity": "strength", "exercise": "glute_bridge"}
        else:
            sim = simulate("run", duration_s=60.0, warmup_walk_s=5.0, cooldown_walk_s=5.0,
                           **common)
            meta = {"activity": "run"}
        meta["placement"] = sim.raw.meta.get("placement")
        return sim.recording, meta
    path = Path(str(kind))
    if not path.name.endswith(".raw.parquet"):
        raise InputError(f"--virtual must be bridge, run or a FILE.raw.parquet, got {kind!r}")
    raw = read_raw(path, plausible=False)  # replayed as counts, whatever they are
    acc_range = int(raw.meta.get("acc_range_g") or opts.acc_range_g)
    gyr_range = int(raw.meta.get("gyr_range_dps") or opts.gyr_range_dps)
    if acc_range not in ACC_LSB_G or gyr_range not in GYR_LSB_DPS:
        raise InputError(f"{path}: full scales {acc_range} g / {gyr_range} dps are not the chip's")
    if raw.gyr_dps is None:
        raise InputError(f"{path}: has no gyroscope columns; the sensor streams both")
    rate = raw.sample_rate_hz
    if int(round(rate)) not in RATES_HZ:
        raise InputError(
            f"{path}: sample rate {rate:g} Hz is not one of the sensor's "
            f"{', '.join(map(str, RATES_HZ))} Hz"
        )
    acc_lsb, gyr_lsb = ACC_LSB_G[acc_range], GYR_LSB_DPS[gyr_range]
    rec = ImuRecording(
        t_s=raw.t_s - raw.t_s[0],
        acc_counts=quantise(raw.acc_g, acc_lsb),
        gyr_counts=quantise(raw.gyr_dps, gyr_lsb),
        acc_lsb_g=acc_lsb, gyr_lsb_dps=gyr_lsb,
        acc_range_g=acc_range, gyr_range_dps=gyr_range,
        true_acc_g=raw.acc_g, true_gyr_dps=raw.gyr_dps,
    )
    meta = {k: raw.meta[k] for k in ("activity", "exercise", "placement", "trunk_length_m")
            if raw.meta.get(k) is not None}
    return rec, meta


async def start_virtual(
    rec: ImuRecording, opts: RecordOptions
) -> tuple[VirtualSensor, BumbleRadio, str]:
    """Start the firmware's virtual sensor on a fresh in-process link; returns (sensor, the
    host radio on that link, the sensor's name)."""
    fast_bumble_formatting()  # in-process link: no per-packet debug strings nobody reads
    link = LocalLink()
    sensor = VirtualSensor(
        link, rec, time_scale=opts.time_scale, sample_rate_hz=float(opts.rate_hz)
    )
    await sensor.start()
    return sensor, BumbleRadio(link), sensor.name


class RecordingWriteError(InputError):
    """The recording could not be written (disk full, file too large, I/O error): it stopped,
    and what reached the disk waits in its parts folder for ``imu recover``."""


def session_path(out: Path, session_name: str | None, session_id: str) -> Path:
    """``out/<session-name>.raw.parquet`` (the name checked as an identifier, the path checked
    to stay in ``out``), by default ``<UTC time>-<session id>``."""
    stem = session_name or f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{session_id}"
    check_identifier("--session-name", stem)
    return inside(out, out / f"{stem}{RAW_SUFFIX}")


def _write_failure(writer: ChunkedRawWriter, out: Path, exc: OSError) -> RecordingWriteError:
    what = exc.strerror or str(exc) or type(exc).__name__
    lost = writer.n_pending + writer.n_dropped
    return RecordingWriteError(
        f"cannot write the recording in {out}: {what}; recording stopped. "
        f"{writer.n_written} samples are safe in {writer.parts_dir}"
        + (f" ({lost} received after the error are not)" if lost else "")
        + f"; free some space, then run: imu recover {out}"
    )


async def record(opts: RecordOptions, stream: TextIO | None = None) -> RecordResult:
    """Record one session to ``opts.out_dir``; see the module docstring.

    The session's file is locked before the sensor is contacted (one writer per session:
    :class:`imu.io.chunks.SessionBusyError`); a write error stops the recording cleanly and
    raises :class:`RecordingWriteError` (one line, how to recover).
    """
    err = stream if stream is not None else sys.stderr
    out = Path(opts.out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: --out exists and is not a directory")
    session_id = uuid.uuid4().hex[:12]
    path = session_path(out, opts.session_name, session_id)
    try:
        out.mkdir(parents=True, exist_ok=True)
        recovered = recover_leftovers(out)
    except OSError as exc:
        raise InputError(f"cannot write to {out}: {exc.strerror or exc}") from None
    for p in recovered:
        print(f"imu: recovered an interrupted recording into {p}", file=err)
    try:
        writer = ChunkedRawWriter(path, {"session_id": session_id})  # the session's lock
    except OSError as exc:
        raise InputError(f"cannot write to {out}: {exc.strerror or exc}") from None
    try:
        result = await _record(opts, writer, session_id, err)
    finally:
        with contextlib.suppress(OSError):  # nothing was written: no folder left behind
            if writer.n_written == 0 and not any(writer.parts_dir.glob("part-*.parquet")):
                shutil.rmtree(writer.parts_dir)
        writer.release()
    result.recovered = recovered
    if result.path is not None and opts.analyze:
        analysed = analyze_recording(result.path, out, err)
        if analysed is not None:
            result.analysis, result.analysis_dir = analysed
    return result


async def _record(
    opts: RecordOptions, writer: ChunkedRawWriter, session_id: str, err: TextIO
) -> RecordResult:
    """The recording itself, into ``writer`` (locked by :func:`record`)."""
    meta: dict[str, Any] = {}
    sensor = radio = None
    name, address = opts.name, opts.address
    duration_s = opts.duration_s
    rate_hz, acc_range, gyr_range = opts.rate_hz, opts.acc_range_g, opts.gyr_range_dps
    if opts.virtual:
        rec, meta = virtual_recording(opts)
        acc_range, gyr_range = rec.acc_range_g, rec.gyr_range_dps
        if duration_s is None:
            duration_s = float(rec.t_s[-1])  # the whole recording, once
        sensor, radio, name = await start_virtual(rec, opts)
        address = None
    for key in ("placement", "activity", "exercise", "trunk_length_m"):
        value = getattr(opts, key)
        if value is not None:
            meta[key] = value
    meta = {k: v for k, v in meta.items() if v is not None}

    live = LiveStatus(rate_hz, count_reps=meta.get("activity") != "run")
    state: dict[str, Any] = {"started": False}

    client = SensorClient(
        name=name, address=address,
        config=StreamConfig(rate_hz=rate_hz, acc_range_g=acc_range, gyr_range_dps=gyr_range),
        scanner_backend=radio.scanner_backend if radio is not None else None,
        client_backend=radio.client_backend if radio is not None else None,
        scan_timeout_s=opts.scan_timeout_s,
        **opts.client_kwargs,
    )

    def base_meta() -> dict[str, Any]:
        s = client.stats
        device = " ".join(x for x in (s.device_name, s.device_address) if x) or "unknown"
        return {
            "session_id": session_id,
            "started_at": client.started_at,
            "sample_rate_hz": float(rate_hz),
            "device": device,
            "firmware": s.firmware or "unknown",
            "acc_range_g": int(acc_range),
            "gyr_range_dps": int(gyr_range),
            **meta,
        }

    t_end = duration_s + 0.5 / rate_hz if duration_s is not None else None

    def on_block(block: Any) -> None:  # consumer thread
        if t_end is not None and block.t_s[-1] > t_end:  # the session ends at --duration-s
            keep = block.t_s <= t_end
            if not keep.any():
                return
            block = SampleBlock(block.seq[keep], block.t_s[keep], block.acc_counts[keep],
                                block.gyr_counts[keep], _keep(block.acc_lsb_g, keep),
                                _keep(block.gyr_lsb_dps, keep))
        if not state["started"]:
            state["started"] = True
            writer.update_meta(**base_meta())
        writer.append(block.t_s, block.acc_g, block.gyr_dps, block.seq)
        live.add(block)

    client.on_block = on_block
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(_quiet_races)
    handled: list[int] = []

    def on_signal(signum: int) -> None:
        if handled:  # a second Ctrl-C: stop waiting for the sensor, finish the file now
            for s in handled:
                loop.remove_signal_handler(s)
        handled.append(signum)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, on_signal, sig)

    async def live_line() -> None:
        while True:
            s = client.stats
            line = live.line(s.state, client.assembler.stats.lost_samples, s.link_losses)
            print("\r" + line, end="", file=err, flush=True)
            await asyncio.sleep(0.5)

    async def flusher() -> None:  # parts reach the disk even while no samples arrive
        while True:
            await asyncio.sleep(0.25)
            await asyncio.to_thread(writer.maybe_flush)
            if writer.error is not None:  # disk full: stop cleanly, keep what is written
                stop.set()
                return

    live_task = asyncio.create_task(live_line()) if opts.live else None
    flush_task = asyncio.create_task(flusher())
    final: Path | None = None
    try:
        stats = await client.run(stop, duration_s=duration_s)
    finally:
        flush_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await flush_task
        if live_task is not None:
            live_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await live_task
            print("", file=err)
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)
        if sensor is not None:
            with contextlib.suppress(Exception):
                await sensor.stop()
    if state["started"]:
        a = client.assembler.stats
        writer.update_meta(**base_meta(), lost_samples=int(a.lost_samples), **clock_meta(client))
        try:
            final = await asyncio.to_thread(writer.close)
        except OSError as exc:
            raise _write_failure(writer, Path(opts.out_dir), exc) from None
    a = client.assembler.stats
    return RecordResult(
        path=final, n_samples=writer.n_written if final is not None else 0,
        lost_samples=a.lost_samples, stats=stats, gaps=list(a.gaps), malformed=a.malformed,
        sensor=sensor,
    )


def _quiet_races(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """The event loop's handler for exceptions nobody awaited: a Bumble callback that answers
    a command cancelled by the shutdown (``InvalidStateError``) is logged, not printed as a
    traceback over the one line the user should read; anything else as usual."""
    if isinstance(context.get("exception"), asyncio.InvalidStateError):
        log.debug("ignored at shutdown: %s", context.get("message"))
        return
    loop.default_exception_handler(context)


def _keep(lsb: Any, keep: np.ndarray) -> Any:
    """A block's sensitivity for the kept samples (a scalar, or per sample)."""
    return lsb[keep] if isinstance(lsb, np.ndarray) else lsb


def clock_meta(client: SensorClient) -> dict[str, float]:
    """The fitted chip-vs-host clock: drift in ppm, or the time scale of a virtual sensor."""
    ratio = client.stats.sensor_per_host
    if not np.isfinite(ratio) or ratio <= 0:
        return {}
    if abs(ratio - 1.0) < 0.01:
        return {"clock_drift_ppm": round((ratio - 1.0) * 1e6, 1)}
    return {"sensor_s_per_host_s": round(ratio, 4)}


def analyze_recording(
    path: Path, out_dir: Path, err: TextIO
) -> tuple[AnalysisResult, Path] | None:
    """Analyse a finished recording and write its tables; None (and one line on ``err``) when
    the analysis refuses it."""
    try:
        result = analyze(path)
        folder = result.write(out_dir)
    except InputError as exc:
        print(f"imu: analysis skipped: {exc}", file=err)
        return None
    except OSError as exc:
        print(f"imu: analysis not written: cannot write to {out_dir}: {exc.strerror or exc}"
              f" (the recording is in {path}; run imu analyze on it later)", file=err)
        return None
    return result, folder
