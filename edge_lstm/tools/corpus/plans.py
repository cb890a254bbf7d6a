"""The plan of the corpus: which family, faults, sizes and sampling rate every series has."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from edge_lstm.tools.corpus.generators import _Drivers, _gen_duty, _gen_flat, _gen_multi, _Link
from edge_lstm.tools.corpus.signals import _Make

_NOISE = {"low": 0.3, "mid": 1.0, "high": 5.0}  # multipliers on each generator's nominal noise


# ---------------------------------------------------------------------------------------------------
# The plan: one entry per series, in a fixed order (the series index seeds it)


@dataclass(frozen=True)
class _Plan:
    family: str
    make: _Make
    faults: tuple[str, ...]
    train: tuple[int, int]  # range of train_rows
    rows: tuple[int, int]  # range of rows
    period_s: int
    noise: str = "mid"
    irregular: bool = False
    # Slots between readings, drawn per reading (a sensor that reports every few minutes, unevenly);
    # None: one reading per slot, give or take the irregular gaps and jitter.
    spacing: tuple[int, int] | None = None


def _multi(drivers: _Drivers, *links: _Link) -> _Make:
    return partial(_gen_multi, drivers, links)


def _duty(*specs: tuple[str, str]) -> _Make:
    return partial(_gen_duty, specs)


def _flat(variant: str, name: str, level: float, resolution: float = 0.0) -> _Make:
    return partial(_gen_flat, variant, name, level, resolution)


D, L = _Drivers, _Link
# fmt: off
_PLANS: tuple[_Plan, ...] = (
    # seasonal: univariate daily (and weekly) profiles at several sampling rates
    _Plan("seasonal", _multi(D(day=1, wander=0.05), L("cpu_pct", 8, 55, noise=1.5, floor=0)),
          ("spike", "level_shift"), (600, 900), (4000, 5000), 300, "low"),
    _Plan("seasonal", _multi(D(day=1, profile="sine", wander=0.3), L("temperature_c", 8, 9, noise=0.3, resolution=0.5)),
          ("drift", "spike"), (500, 800), (3000, 4000), 600),
    _Plan("seasonal", _multi(D(day=1, weekend=0.35, wander=0.05), L("power_kw", 40, 120, noise=4)),
          ("level_shift", "spike", "variance_increase"), (1400, 2000), (6000, 8000), 1800),
    _Plan("seasonal", _multi(D(day=1, wander=0.1), L("latency_ms", 150, 60, noise=3, floor=0)),
          ("spike", "level_shift"), (150, 300), (1500, 2500), 3600, "high"),
    _Plan("seasonal", _multi(D(day=1, weekend=0.4, wander=0.05), L("traffic_mbps", 20, 180, noise=6, floor=0)),
          ("variance_increase", "level_shift", "spike"), (1000, 1500), (4000, 5000), 3600),
    _Plan("seasonal", _multi(D(day=1, jobs=0.8, job_rows=12),
                             L("queue_depth", 5, 40, noise=1.5, resolution=1, floor=0)),
          ("frequency_change", "spike", "stuck"), (900, 1500), (5000, 6000), 300),
    _Plan("seasonal", _multi(D(day=-1, profile="sine", wander=0.4), L("humidity_pct", 80, 25, noise=0.4)),
          ("stuck",), (400, 700), (2500, 3500), 900, "high", irregular=True),
    _Plan("seasonal", _multi(D(day=1, trend=0.3), L("disk_io_mbs", 10, 60, noise=2, floor=0)),
          ("level_shift", "variance_increase", "spike", "drift"), (1200, 1800), (6000, 7000), 300, "low"),
    # trend: slow growth or decay that leaves the training range while staying normal
    _Plan("trend", _multi(D(day=0.1, trend=0.5, wander=0.02), L("disk_used_pct", 40, 30, noise=0.1)),
          ("spike", "level_shift"), (400, 700), (3000, 4000), 600, "low"),
    _Plan("trend", _multi(D(day=0.2, profile="sine", trend=-0.6),
                          L("battery_v", 12.8, 0.5, noise=0.01, resolution=0.01)),
          ("spike",), (300, 600), (2500, 3500), 900),
    _Plan("trend", _multi(D(day=1, profile="sine", trend=2.0, wander=0.3), L("bearing_temp_c", 45, 3, noise=0.2)),
          ("drift", "spike"), (500, 900), (3000, 4500), 600),
    _Plan("trend", _multi(D(day=1, profile="sine", wander=0.2),
                          L("inlet_temp_c", 60, 10, noise=0.15),
                          L("outlet_temp_c", 35, 8, tau=8, noise=0.15, trend=4),
                          L("flow_m3h", 20, 5, tau=2, noise=0.2)),
          ("correlation_break", "spike", "level_shift"), (800, 1200), (4000, 5000), 300),
    _Plan("trend", _multi(D(day=1, weekend=0.4, trend=0.5),
                          L("active_users", 200, 800, noise=30, resolution=1, floor=0)),
          ("level_shift", "spike", "drift"), (1000, 1400), (3000, 4000), 3600),
    # regime: operating levels that switch at random times, in training too
    _Plan("regime", _multi(D(regimes=3, regime=1), L("pump_speed_rpm", 1200, 600, noise=5)),
          ("spike", "stuck", "level_shift"), (800, 1200), (3000, 4000), 10, "low"),
    _Plan("regime", _multi(D(regimes=2, regime=1), L("compressor_pressure_bar", 6.5, 1.0, noise=0.03)),
          ("variance_increase", "spike", "drift"), (200, 300), (1500, 2500), 10),
    _Plan("regime", _multi(D(base=0.4, regimes=3, regime=0.6),
                           L("speed_rpm", 0, 1800, noise=5),
                           L("flow_m3h", 0, 80, tau=4, noise=0.8),
                           L("power_kw", 0, 30, power=3, tau=2, noise=0.4)),
          ("correlation_break", "spike", "stuck"), (1000, 1500), (4000, 5000), 5),
    _Plan("regime", _multi(D(regimes=3, regime=1),
                           L("setpoint_c", 18, 6, resolution=0.5),
                           L("temp_c", 18, 6, tau=40, noise=0.1),
                           L("heater_pct", 10, 50, tau=5, noise=2, floor=0)),
          ("correlation_break", "drift", "spike"), (700, 1000), (3000, 4000), 60),
    _Plan("regime", _multi(D(regimes=2, regime=1), L("zone_temp_c", 17, 4, noise=0.15, resolution=0.5)),
          ("level_shift", "spike"), (500, 800), (3000, 3500), 300, "high"),
    _Plan("regime", _multi(D(base=0.3, regimes=3, regime=0.7),
                           L("line_speed_m_min", 0, 120, noise=1),
                           L("motor_current_a", 2, 14, tau=3, noise=0.2)),
          ("variance_increase", "stuck", "correlation_break"), (600, 1000), (3000, 4000), 10, irregular=True),
    # dutycycle: start/stop machines
    _Plan("dutycycle", _duty(("motor_current_a", "current")),
          ("spike", "level_shift"), (250, 300), (1500, 2500), 10),
    _Plan("dutycycle", _duty(("current_a", "current"), ("temperature_c", "temperature"),
                             ("vibration_mm_s", "vibration")),
          ("frequency_change", "correlation_break", "variance_increase"), (1500, 2000), (5000, 6000), 30),
    _Plan("dutycycle", _duty(("running", "running"), ("current_a", "current"), ("discharge_temp_c", "temperature"),
                             ("supply_v", "voltage")),
          ("stuck", "spike", "drift"), (800, 1200), (3000, 4000), 10, "low"),
    _Plan("dutycycle", _duty(("power_w", "power")),
          ("frequency_change", "drift"), (200, 300), (2000, 3000), 60),
    _Plan("dutycycle", _duty(("current_a", "current"), ("flow_m3h", "flow")),
          ("stuck", "correlation_break"), (600, 900), (2500, 3500), 30, "high", irregular=True),
    _Plan("dutycycle", _duty(("fan_on", "running"), ("compressor_a", "current"), ("supply_air_c", "cooling"),
                             ("return_air_c", "return_air"), ("setpoint_c", "setpoint")),
          ("level_shift", "spike", "variance_increase"), (1000, 1500), (4000, 5000), 60),
    # counts: integer, bursty, heavy-tailed
    _Plan("counts", _multi(D(day=1, weekend=0.5, burst=0.3), L("requests_5m", 20, 400, count=20)),
          ("spike", "level_shift"), (1200, 2000), (6000, 8000), 300),
    _Plan("counts", _multi(D(base=1, burst=1.0), L("errors_per_min", 0, 1.5, count=2)),
          ("level_shift", "variance_increase"), (250, 300), (2000, 3000), 60),
    _Plan("counts", _multi(D(base=0.2, day=1, burst=1.5), L("mentions_5m", 2, 30, count=5)),
          ("spike", "drift"), (1500, 2000), (6000, 7500), 300),
    _Plan("counts", _multi(D(day=1, weekend=0.3), L("logins_1h", 5, 120, count=30)),
          ("spike", "stuck", "level_shift"), (700, 1000), (3000, 4000), 3600),
    _Plan("counts", _multi(D(day=1, burst=0.3), L("requests_5m", 50, 600, count=10), L("errors_5m", 0.2, 6, count=10)),
          ("correlation_break", "spike", "variance_increase"), (1500, 2000), (6000, 7000), 300),
    _Plan("counts", _multi(D(base=1, fast=0.2, wander=0.1, burst=0.5), L("packets_10s", 200, 1500, count=8)),
          ("spike", "drift", "stuck"), (500, 800), (3000, 4000), 10, irregular=True),
    _Plan("counts", _multi(D(day=1, weekend=0.1), L("occupancy", 0, 35, count=50)),
          ("level_shift", "spike", "stuck"), (700, 1000), (3000, 4000), 900),
    # flat: (nearly) constant univariate series
    _Plan("flat", _flat("constant", "setpoint_c", 21.5), ("level_shift",), (150, 300), (1500, 2000), 60),
    _Plan("flat", _flat("steps", "valve_position_pct", 40.0, 0.1),
          ("spike", "variance_increase"), (300, 600), (2000, 3000), 60),
    _Plan("flat", _flat("flicker", "room_temp_c", 21.5, 0.5),
          ("level_shift", "variance_increase"), (200, 300), (1500, 2500), 60),
    _Plan("flat", _flat("tiny", "supply_3v3_v", 3.3, 0.001),
          ("drift", "spike", "variance_increase"), (500, 800), (2500, 3500), 10),
    # cyclic: a fast periodic process (pump strokes, vibration) whose rate can change
    _Plan("cyclic", _multi(D(cycle=1, cycle_rows=(12, 25), wander=0.05), L("pump_pressure_bar", 4, 1.5, noise=0.02)),
          ("frequency_change",), (150, 250), (1500, 2500), 1, "low"),
    _Plan("cyclic", _multi(D(cycle=1, cycle_rows=(8, 16)), L("vibration_g", 0, 0.5, noise=0.05)),
          ("frequency_change", "variance_increase", "level_shift"), (200, 300), (1500, 2500), 1, "high"),
    _Plan("cyclic", _multi(D(cycle=1, cycle_rows=(12, 20), wander=0.05),
                           L("pressure_bar", 3, 1.2, noise=0.03),
                           L("flow_lpm", 40, 10, tau=3, noise=0.3)),
          ("correlation_break", "frequency_change", "stuck"), (200, 300), (2000, 3000), 1),
    _Plan("cyclic", _multi(D(base=1, cycle=0.5, cycle_rows=(15, 30), wander=0.1),
                           L("piston_pressure_bar", 0, 12, noise=0.2),
                           L("rod_load_kn", 0, 40, tau=1, noise=0.6),
                           L("crank_temp_c", 30, 15, tau=200, noise=0.1)),
          ("frequency_change", "spike", "drift"), (250, 300), (2500, 3500), 5, irregular=True),
    # multi: coupled channels, 2 to 8 of them
    _Plan("multi", _multi(D(base=0.55, wander=0.25, fast=0.06),
                          L("vibration_mm_s", 1, 0.8, noise=0.04, floor=0),
                          L("motor_current_a", 5, 3, noise=0.08),
                          L("bearing_temp_c", 40, 10, tau=60, noise=0.08),
                          L("pressure_bar", 2, 1.5, power=2, noise=0.04),
                          L("flow_m3h", 20, 30, noise=0.4)),
          ("spike", "drift", "stuck", "variance_increase"), (1000, 1500), (4000, 5000), 10),
    _Plan("multi", _multi(D(day=-1, profile="sine", base=1, wander=0.3),
                          L("supply_temp_c", 70, 10, noise=0.1),
                          L("return_temp_c", 45, 6, tau=6, noise=0.1)),
          ("correlation_break",), (900, 1300), (4000, 5000), 300, "low"),
    _Plan("multi", _multi(D(day=1, wander=0.05, fast=0.05),
                          L("cpu_pct", 5, 60, noise=2, floor=0),
                          L("mem_pct", 40, 15, tau=20, own=3, noise=0.3),
                          L("disk_io_mbs", 2, 40, own=2, noise=1.5, floor=0),
                          L("net_in_mbps", 5, 200, noise=6, floor=0),
                          L("net_out_mbps", 3, 120, tau=1, noise=4, floor=0),
                          L("load1", 0.2, 6, tau=3, noise=0.2, floor=0),
                          L("cpu_temp_c", 38, 25, tau=6, noise=0.5),
                          L("fan_rpm", 1500, 2500, tau=6, noise=40, resolution=100)),
          ("correlation_break", "level_shift", "spike", "variance_increase"), (1200, 2000), (5000, 6500), 300),
    _Plan("multi", _multi(D(base=0.5, fast=0.3, wander=0.2),
                          L("voltage_setpoint_v", 24.0),
                          L("voltage_v", 24.0, -0.3, noise=0.02),
                          L("current_a", 1, 8, noise=0.1, floor=0)),
          ("drift", "spike"), (500, 800), (2500, 3500), 60),
    _Plan("multi", _multi(D(day=1, wander=0.2),
                          L("temp_c", 20, 3, tau=10, noise=0.1, resolution=0.5),
                          L("humidity_pct", 45, -8, tau=10, noise=0.5, resolution=1),
                          L("co2_ppm", 420, 600, tau=4, noise=10, resolution=1),
                          L("pressure_hpa", 1013, own=5, noise=0.05, resolution=0.1)),
          ("stuck", "spike", "level_shift"), (700, 1000), (3000, 4000), 600, irregular=True),
    _Plan("multi", _multi(D(base=0.4, regimes=2, regime=0.4, fast=0.05, wander=0.1),
                          L("current_l1_a", 0, 50, own=1, noise=0.5),
                          L("current_l2_a", 0, 50, own=1, noise=0.5),
                          L("current_l3_a", 0, 50, own=1, noise=0.5),
                          L("voltage_v", 230, -4, noise=0.5),
                          L("power_factor", 0.9, 0.05, noise=0.002, resolution=0.01),
                          L("frequency_hz", 50, own=0.02, noise=0.005, resolution=0.001)),
          ("correlation_break", "spike", "variance_increase"), (600, 1000), (3000, 4000), 10),
    _Plan("multi", _multi(D(base=0.5, wander=0.35, fast=0.08),
                          L("wind_speed_ms", 0, 14, noise=0.3, floor=0),
                          L("power_kw", 0, 3250, power=3, tau=1, noise=10, cap=2000, floor=0)),
          ("correlation_break", "stuck", "spike"), (1000, 1500), (4000, 5500), 600),
    _Plan("multi", _multi(D(base=0.25, regimes=3, regime=0.75, fast=0.05),
                          L("rpm", 0, 3000, noise=15),
                          L("oil_pressure_bar", 1, 3, tau=2, noise=0.05),
                          L("coolant_temp_c", 70, 20, tau=150, noise=0.2),
                          L("oil_temp_c", 75, 30, tau=300, noise=0.2),
                          L("fuel_rate_lh", 0.5, 25, power=1.5, tau=1, noise=0.3),
                          L("battery_v", 13.8, own=0.03, noise=0.02, resolution=0.1)),
          ("drift", "correlation_break", "spike"), (1500, 2000), (5500, 7000), 5),
    _Plan("multi", _multi(D(base=0.5, fast=0.5),
                          L("heater_pct", 30, 40, noise=1, floor=0),
                          L("air_temp_c", 20, 4, tau=3, noise=0.1),
                          L("surface_temp_c", 20, 6, tau=10, noise=0.1)),
          ("spike", "correlation_break", "level_shift"), (200, 300), (2000, 3000), 10, "high"),
    _Plan("multi", _multi(D(day=1, weekend=0.4, wander=0.05),
                          L("power_kw", 30, 150, noise=4),
                          L("hvac_kw", 5, 60, tau=2, noise=2, floor=0),
                          L("lighting_kw", 2, 40, noise=1, floor=0),
                          L("outside_temp_c", 10, day=6, own=3, noise=0.3)),
          ("spike", "level_shift", "correlation_break"), (1000, 1500), (3500, 4500), 3600, irregular=True),
    # irregular: jittered sampling with short and long gaps
    _Plan("irregular", _multi(D(wander=1, fast=0.1), L("tank_level_pct", 60, 15, noise=0.3)),
          ("spike", "drift"), (500, 800), (3000, 4000), 30, irregular=True),
    _Plan("irregular", _multi(D(day=1), L("ups_load_pct", 20, 45, noise=1)),
          ("level_shift", "stuck"), (800, 1200), (4000, 5000), 300, "low", irregular=True),
    _Plan("irregular", _multi(D(day=1, burst=0.8), L("events_10m", 1, 40, count=4)),
          ("spike", "variance_increase"), (400, 600), (2500, 3500), 600, irregular=True),
    _Plan("irregular", _multi(D(day=1, profile="sine", wander=0.2),
                              L("soil_moisture_pct", 30, -2, own=3, noise=0.2),
                              L("soil_temp_c", 15, 5, tau=20, noise=0.1),
                              L("battery_v", 3.6, 0.05, trend=-0.1, noise=0.005, resolution=0.01)),
          ("drift", "spike", "stuck"), (500, 800), (2500, 3500), 900, irregular=True),
    _Plan("irregular", _multi(D(wander=1, fast=0.3), L("room_temp_c", 21, 1.2, noise=0.15, resolution=0.5)),
          ("spike", "level_shift", "variance_increase"), (150, 300), (1500, 2000), 120, irregular=True),
    # normal-only: no fault at all, to count false alarms
    _Plan("normal-only", _multi(D(day=1, wander=0.05), L("cpu_pct", 10, 50, noise=1.5, floor=0)),
          (), (600, 900), (3500, 4500), 300),
    _Plan("normal-only", _duty(("current_a", "current"), ("temperature_c", "temperature"),
                               ("vibration_mm_s", "vibration")),
          (), (1000, 1500), (3500, 4500), 30),
    _Plan("normal-only", _multi(D(base=1, fast=0.1, burst=0.8), L("requests_1m", 5, 40, count=5)),
          (), (200, 300), (2000, 3000), 60, irregular=True),
    _Plan("normal-only", _multi(D(base=0.4, regimes=2, regime=0.6),
                                L("speed_rpm", 0, 1800, noise=5),
                                L("flow_m3h", 0, 80, tau=4, noise=0.8),
                                L("setpoint_bar", 6.0)),
          (), (800, 1200), (3000, 4000), 10),
    _Plan("normal-only", _multi(D(day=1, weekend=0.4, trend=0.3),
                                L("active_sessions", 50, 300, noise=8, resolution=1, floor=0)),
          (), (1000, 1500), (3000, 4000), 3600, "low"),
    # Appended last, so that no series before it moves: road speeds read every 4 to 10 minutes (the
    # mean interval is then about 18 % longer than the median, which once put the daily pattern out of step).
    _Plan("irregular", _multi(D(day=1, weekend=0.6, wander=0.1), L("speed_kmh", 95, -45, noise=3, floor=5)),
          ("level_shift", "spike", "stuck"), (400, 700), (2500, 3500), 60, irregular=True, spacing=(4, 10)),
)
# fmt: on
del D, L

SERIES_COUNT = len(_PLANS)


def _names() -> list[str]:
    seen: dict[str, int] = {}
    names = []
    for plan in _PLANS:
        seen[plan.family] = seen.get(plan.family, 0) + 1
        names.append(f"{plan.family}-{seen[plan.family]:02d}")
    return names


_NAMES = _names()
