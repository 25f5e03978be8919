# The two commands the README starts with. Both install what is missing first.
.PHONY: demo test lint bench-gateway clean-demo

demo:            ## deploy examples/fullstack on https://localhost:8443 and prove it answers
	bash scripts/demo.sh

test:            ## unit, golden, CLI, integration (Docker + nginx) and browser tests
	bash scripts/test.sh

lint:
	ruff check src tests scripts bench

bench-gateway:   ## wrk: portside's gateway vs hand-written nginx vs Caddy, and added /api latency
	python3 bench/gateway

clean-demo:
	portside down fullstack --gateway
