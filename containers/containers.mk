# The platform in containers (docker-compose.yml), included by the top Makefile. On a
# machine without registry access the images build FROM a Debian base image made here by
# debootstrap; the Docker engine is Debian's, started without a bridge when none answers,
# and every service runs on the host's network (containers/compose.host-network.yml).
.PHONY: base-image compose-up compose-down test-containers

# BASE_IMAGE=debian:bookworm-slim COMPOSE_NETWORK=bridge: the same stack where a registry
# and normal networks are reachable.
BASE_IMAGE ?= moovitamix/debian:bookworm
COMPOSE_NETWORK ?= host
COMPOSE_PROJECT ?= moovitamix
COMPOSE_ENV_FILE ?= $(CURDIR)/compose.env
CONTAINERS_STATE := containers/.state
BASE_STAMP := $(CONTAINERS_STATE)/base-image.id
DOCKER = $(firstword $(wildcard /usr/bin/docker) docker)
COMPOSE = $(if $(shell command -v docker-compose),docker-compose,$(DOCKER) compose) -p $(COMPOSE_PROJECT) \
	-f docker-compose.yml -f $(if $(filter host,$(COMPOSE_NETWORK)),containers/compose.host-network.yml,docker-compose.override.yml) \
	--env-file $(COMPOSE_ENV_FILE)
# Compose reads the runner's env_file from the same variable.
export COMPOSE_ENV_FILE

# A rebuild leaves the images it replaced untagged: build and base-image remove the
# project's own (containers/stack.py prune, by their label), and compose-down those a
# container still used.
base-image: $(VENV)/.installed ## the Debian base image of the containers, by debootstrap from apt's mirror (cached)
	@$(PY) -m containers.daemon start
	@containers/base-image.sh $(BASE_IMAGE) $(BASE_STAMP)
	@$(PY) -m containers.stack prune --docker $(DOCKER)

compose-up: $(VENV)/.installed ## build the images, start Postgres, MLflow, the stand-in in containers; run the daily job in the runner
	@$(PY) -m containers.daemon start
	@$(if $(filter moovitamix/%,$(BASE_IMAGE)),containers/base-image.sh $(BASE_IMAGE) $(BASE_STAMP))
	@$(PY) -m containers.stack env $(COMPOSE_ENV_FILE)
	$(PY) -m containers.stack build --base-image $(BASE_IMAGE) --docker $(DOCKER) --python $(PYTHON)
	$(COMPOSE) up -d --no-build warehouse api mlflow
	$(COMPOSE) --profile job run --rm runner

# IMAGES=1 also removes the images built (the base image included) and then the build
# cache no image uses any more (as much again: ~3 GB; Docker's cache carries no label, so
# this is the engine's whole unused cache); VOLUMES=1 the data. The daemon compose-up
# started, if it did, is stopped unless KEEP_DAEMON=1.
compose-down: ## stop and remove the stack's containers (IMAGES=1: its images and the unused build cache too, VOLUMES=1: its data)
	@if [ -f $(COMPOSE_ENV_FILE) ] && $(PY) -c 'import containers.daemon as d; exit(not d.answers())'; then \
		$(COMPOSE) --profile job down --remove-orphans $(if $(IMAGES),--rmi all) $(if $(VOLUMES),--volumes); \
		$(if $(IMAGES),$(DOCKER) image rm -f $(BASE_IMAGE) >/dev/null 2>&1; rm -f $(BASE_STAMP);) \
		$(PY) -m containers.stack prune --docker $(DOCKER); \
		$(if $(IMAGES),echo "build cache: $$($(DOCKER) builder prune --force 2>/dev/null | tail -1)";) \
	fi
	@$(if $(KEEP_DAEMON),,$(PY) -m containers.daemon stop)

# Builds the images, runs the stack twice with a down/up between, checks the warehouse
# against the stand-in's truth and the MLflow server's champion, then removes what it made
# (containers, volumes, images, build cache): ~6 GB of disk given back.
test-containers: $(VENV)/.installed ## the compose stack built and run here, checked end to end (tests/containers/)
	$(PY) -m pytest -q -ra tests/containers
