# The two commands of the README: `make demo` and `make test`.
UV ?= $(shell command -v uv 2>/dev/null || echo "python3 -m uv")

.PHONY: demo test bench deps runtime uv browser image

uv:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv

## The runtime only, for `make demo`: no test, lint or chart tools (the dev group).
runtime: uv
	$(UV) sync --locked --no-dev

## The runtime and the dev group, for `make test` and `make bench`.
deps: uv
	$(UV) sync --locked

## Chromium for browser checks: the system's if there is one, else Playwright's own download.
browser: runtime
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
	  || $(UV) run --locked --no-dev playwright install chromium \
	  || echo "no Chromium: browser checks will report 'error' (apt-get install chromium, or playwright install chromium)"

## Start the bundled demo target and smokewatch watching it (SQLite, loopback): make demo PORT=8081
PORT ?= 8080
demo: browser
	$(UV) run --locked --no-dev smokewatch demo --port $(PORT)

## Install system packages the tests use (Chromium, PostgreSQL, Prometheus), then run every test.
test: deps
	scripts/install-system-deps.sh
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy
	$(UV) run pytest --cov --cov-report=term-missing:skip-covered

bench: deps
	scripts/install-system-deps.sh
	$(UV) run python bench/http_probe.py

## Build the container image (needs Docker with BuildKit; not used by the tests).
image:
	docker build --build-arg REVISION=$$(git rev-parse HEAD) -t smokewatch:dev .
