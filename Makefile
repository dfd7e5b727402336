# `make test` and `make run` work on a fresh Debian 12 machine: they install what they need first.
SHELL := /bin/bash
SWIFT ?= swift
# docker.io and busybox-static: the real-engine suites start their own dockerd and import images
# built from busybox (issue 19). rsyslog, rsyslog-gnutls and openssl: SyslogExportTests send to a
# real rsyslogd, over TLS with certificates made by openssl (issue 18). redis-sentinel: the
# Sentinel suites run a real master, replica and three sentinels (issue 14). iproute2: the cluster
# partition suites put instances and Redis in network namespaces of their own (`ip netns`).
APT_PACKAGES := libhiredis-dev libyaml-dev redis-server redis-sentinel redis-tools socat pkg-config curl python3 docker-compose chromium docker.io busybox-static rsyslog rsyslog-gnutls openssl iproute2
BIN_DIR = $(shell $(SWIFT) build --show-bin-path)
# The end-to-end suites start these release binaries, what users and the Dockerfile run: a
# release-only crash of the listener once passed every debug test. Unit tests stay debug.
RELEASE_BIN_DIR = $(shell $(SWIFT) build -c release --show-bin-path)
# The real-engine suites (issue 19) start their own dockerd per test (two for a worker's fleet):
# one invocation of their own, one test at a time. Three suites at once meant five dockerd and
# their containerd on 2 cores, and a CI run saw an engine answer 500 on a container start.
REAL_ENGINE_SUITES := DockerRealEngineDriverTests|DockerRealEngineWorkerTests|ComposeGroupRealEngineTests|ComposeFleetRealEngineTests
CLUSTER_FAULT_SUITES := ClusterPartitionTests|ClusterSentinelTests|ClusterFaultBatteryTests
ALONE_SUITES := CommandDriverTests|WorkerSupervisorLaunchTests|SituationPageBrowserTests|DemoHostOutageTests|FaultBatteryTests|$(CLUSTER_FAULT_SUITES)|$(REAL_ENGINE_SUITES)

.PHONY: deps build release test run clean check-config simulate bench fuzz faults faults-cluster

deps:
	@missing=""; for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@# WorkerMetricsTests parse the metrics with a real Prometheus text parser (issue 18).
	@python3 -c "import prometheus_client" 2>/dev/null || python3 -m pip install -q prometheus-client
	@# KubeTests validate the generated manifests against the Kubernetes schemas offline.
	@python3 -c "import kubernetes_validate" 2>/dev/null || python3 -m pip install -q kubernetes-validate

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# Issue 17: every process the run starts inherits this id (and the test support puts it into its
# temp directories' names); scripts/check-test-leftovers.sh finds by it what outlived the run.
test: export MIMIC_TEST_RUN := run$(shell od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
test: deps release
	$(SWIFT) build --build-tests
	# The suites that must not overlap others (hook timings, scripts started as soon as written,
	# the demo, the browser, the fault battery) carry `.runsAlone` (Tests/Support/MachineGate.swift), so plain `swift test` is
	# right. Here they also run in invocations of their own after the rest: in one run, pure suites
	# (property tests, simulations) still share the 2 cores with them, and the demo's host-crash
	# timings and a few time-bounded async tests failed that way. The leftover check runs whether
	# or not the tests passed, and fails the target if a process of the run is still alive or
	# something is still mounted under the run's temp dirs (the real-engine suites' dockerd).
	status=0; \
	MIMIC_BIN_DIR="$(RELEASE_BIN_DIR)" $(SWIFT) test --skip-build --skip "$(ALONE_SUITES)" || status=1; \
	for suites in "CommandDriverTests|WorkerSupervisorLaunchTests" "SituationPageBrowserTests|DemoHostOutageTests" ListenerTests.FaultBatteryTests "$(CLUSTER_FAULT_SUITES)"; do \
		MIMIC_BIN_DIR="$(RELEASE_BIN_DIR)" $(SWIFT) test --skip-build --filter "$$suites" || status=1; \
	done; \
	MIMIC_BIN_DIR="$(RELEASE_BIN_DIR)" $(SWIFT) test --skip-build --no-parallel --filter "$(REAL_ENGINE_SUITES)" || status=1; \
	./scripts/check-test-leftovers.sh || status=1; exit $$status

run: deps build
	MIMIC_BIN_DIR="$(BIN_DIR)" ./scripts/run-demo.sh

check-config: build
	"$(BIN_DIR)/mimicctl" check-config examples/apps.d

# libFuzzer targets (fuzz/targets), FUZZ_SECONDS each (default 60); crashes land in fuzz/artifacts/.
fuzz: deps
	FUZZ_SECONDS="$(or $(FUZZ_SECONDS),60)" ./fuzz/run.sh

# The long randomized fault battery: `make faults SEED=42 FAULT_SECONDS=600` (random seed if unset).
faults: deps
	./scripts/faults.sh $(if $(SEED),--seed $(SEED)) --seconds "$(or $(FAULT_SECONDS),600)"

# The cluster fault battery (issue 14): three instances and Redis in network namespaces, faults on
# instances, workers, Redis and the network: `make faults-cluster SEED=14 FAULT_SECONDS=600`.
faults-cluster: deps
	./scripts/faults.sh --cluster $(if $(SEED),--seed $(SEED)) --seconds "$(or $(FAULT_SECONDS),600)"

# The strategy and attack tables of the README (deterministic; see `mimic-worker
# simulate-strategies --help` and `mimic-worker simulate-attacks --help`).
simulate: build
	"$(BIN_DIR)/mimic-worker" simulate-strategies
	"$(BIN_DIR)/mimic-worker" simulate-attacks

# The standard benchmark set (issue 7), release build, medians of BENCH_RUNS runs; the table and
# RESULT lines go to stdout and to bench.out. Not part of `make test`: timed figures are not tests.
BENCH_RUNS ?= 5
# failover-master is `failover --fault master` (a Sentinel failover); plain failover kills an instance.
BENCH_MODES ?= baseline throughput latency recovery fleet failover failover-master
bench: deps
	$(SWIFT) build -c release --product mimic-bench
	$(SWIFT) build -c release --product mimic-listener
	$(SWIFT) build -c release --product mimic-worker
	@set -o pipefail; rel="$$($(SWIFT) build -c release --show-bin-path)"; : > bench.out; \
	for mode in $(BENCH_MODES); do \
		case $$mode in failover-master) args="failover --fault master";; *) args=$$mode;; esac; \
		echo "== mimic-bench $$args --runs $(BENCH_RUNS)" | tee -a bench.out; \
		"$$rel/mimic-bench" $$args --runs $(BENCH_RUNS) --bin-dir "$$rel" 2>&1 | tee -a bench.out || exit 1; \
	done; \
	echo "== RESULT lines"; grep '^RESULT' bench.out

clean:
	rm -rf .build
