# Two commands do everything on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test lint bench eval eval-real clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,dask]'
	touch $(STAMP)

venv: $(STAMP)

## demo: analyse the bundled bridge session and run, and write an HTML report of the bridges
demo: $(STAMP)
	rm -rf demo-out
	$(BIN)/imu analyze fixtures/demo/bridge_session.raw.parquet --out demo-out/
	$(BIN)/imu analyze fixtures/demo/run_session.raw.parquet --out demo-out/
	$(BIN)/imu report "$$(dirname "$$(ls demo-out/session=*/reps.parquet | head -n 1)")" \
		--out demo-out/bridge_report.html

## test: lint, compile the firmware with mpy-cross, run the whole suite
test: $(STAMP)
	$(BIN)/ruff check imu tests benchmarks notebooks fixtures
	$(BIN)/python -m imu.device.firmware check
	$(BIN)/python -m pytest -n 2 -q

lint: $(STAMP)
	$(BIN)/ruff check imu tests benchmarks notebooks fixtures

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

eval: $(STAMP)
	$(BIN)/python benchmarks/evaluate_strength.py && $(BIN)/python benchmarks/evaluate_workouts.py \
		&& $(BIN)/python benchmarks/evaluate_running.py && $(BIN)/python benchmarks/evaluate_windows.py

## eval-real: `imu analyze` on the real recordings in ../shared/realdata (or IMU_REALDATA=DIR);
## EVAL_REAL_ARGS passes options, e.g. EVAL_REAL_ARGS="--per-session --json out.json"
eval-real: $(STAMP)
	$(BIN)/python benchmarks/evaluate_real.py $(if $(IMU_REALDATA),--realdata "$(IMU_REALDATA)") \
		$(EVAL_REAL_ARGS)

clean:
	rm -rf $(VENV) demo-out .pytest_cache
