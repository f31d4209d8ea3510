# The two commands that matter: `make demo` and `make test`. Each works on a fresh machine as the only command.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FONT_STAMP := $(VENV)/.fonts
SYS_STAMP := $(VENV)/.system-packages

.PHONY: test demo sim lint bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,farm]'
	touch $(STAMP)

# Screens are drawn with real CJK fonts so OCR reads real pixels.
$(FONT_STAMP): | $(STAMP)
	@$(BIN)/python -m emulator.sim.fonts --ensure
	@touch $(FONT_STAMP)

# Tests render reports in a real headless browser and run Celery workers against a real Redis server.
$(SYS_STAMP): | $(STAMP)
	@command -v chromium >/dev/null && command -v redis-server >/dev/null || \
	  { [ "$$(id -u)" = 0 ] || { echo "make: chromium and redis-server are needed (apt-get install chromium redis-server)"; exit 1; }; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium redis-server >/dev/null; }
	@touch $(SYS_STAMP)

test: $(STAMP) $(FONT_STAMP) $(SYS_STAMP)
	$(BIN)/ruff check crawler strategies emulator reports tests bench
	$(BIN)/python -m pytest -q -p no:cacheprovider

demo: $(STAMP) $(FONT_STAMP)
	$(BIN)/naysayer demo

sim: $(STAMP) $(FONT_STAMP)
	$(BIN)/naysayer sim serve

lint: $(STAMP)
	$(BIN)/ruff check crawler strategies emulator reports tests bench

# Each benchmark prints a markdown table; docs/benchmarks.md records them with the machine and the date.
bench: $(STAMP) $(FONT_STAMP)
	$(BIN)/python bench/wire.py
	$(BIN)/python bench/crawl.py
	$(BIN)/python -m bench.store
	$(BIN)/python bench/ocr.py
	$(BIN)/python bench/accuracy.py
	$(BIN)/python bench/evidence.py
	$(BIN)/python bench/lab.py
	$(BIN)/python bench/dashboard.py
	$(BIN)/python -m tests.fuzz.harness tests.fuzz.evidence:full_cases --workers 2
	$(BIN)/python bench/perception.py
	$(BIN)/python -m bench.hostile
	$(BIN)/python -m bench.fuzz

clean:
	rm -rf $(VENV) runs
