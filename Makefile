# dynamo-cluster: `make plan` renders a stack offline, `make test` runs lint, types and tests.
# make plan [STACK=dev|prod] [CONFIG=path/to/Pulumi.<name>.yaml] [OUT=dir]: the stack defaults to
# the name in CONFIG's file name, else dev.
# Both bootstrap .venv from the pinned requirements on a fresh machine.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

STACK  ?=
CONFIG ?=
OUT    ?=

.PHONY: plan local test lint typecheck docs runtimes scanner unit bench clean venv

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

# The command exits 2 for an invalid config and anything else non-zero for a program error. make itself
# exits 2 whenever a recipe fails, so the recipe names which it was; scripts that branch on the status
# run `python -m stacks plan` directly.
plan: $(STAMP)
	@$(PY) -m stacks plan $(if $(STACK),--stack $(STACK)) $(if $(CONFIG),--config $(CONFIG)) $(if $(OUT),--out $(OUT)); \
	status=$$?; \
	if [ $$status -eq 2 ]; then echo "make plan: invalid stack config (exit 2): nothing was written" >&2; \
	elif [ $$status -ne 0 ]; then echo "make plan: program error (exit $$status), not a config problem: please report it" >&2; fi; \
	exit $$status

# The stack's mocker graphs as real Dynamo processes on this machine, until Ctrl-C (STACK defaults to dev).
local: $(STAMP)
	@$(PY) -m stacks local --stack $(or $(STACK),dev)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

typecheck: $(STAMP)
	$(VENV)/bin/mypy --strict .

docs: $(STAMP)
	$(PY) -m stacks.config.docs

# The real Dynamo runtime of every release in the release table (stacks/local/runtime.py): one cached
# venv per release under .cache/dynamo-runtime, for `stacks local` and the conformance suite.
runtimes: $(STAMP)
	@$(PY) -m stacks.local.runtime install

# checkov (tools/scanner/requirements.txt) in a venv of its own under .cache/checkov: the scanner the
# tests run over every stack's plan (its dependencies would clash with the project's).
SCANNER := .cache/checkov/.installed
scanner: $(SCANNER)

$(SCANNER): tools/scanner/requirements.txt
	@test -x .cache/checkov/bin/python || $(PYTHON) -m venv .cache/checkov
	@.cache/checkov/bin/python -m pip install --quiet --disable-pip-version-check --no-deps \
		-r tools/scanner/requirements.txt
	@touch $(SCANNER)

unit: $(STAMP)
	$(PY) -m pytest

test: lint typecheck runtimes scanner unit

bench: $(STAMP)
	@$(PY) tools/bench.py

# The policy pack's own virtualenv (policy/PulumiPolicy.yaml names it), for
# `pulumi preview --policy-pack policy`.
POLICY_VENV := policy/.venv
.PHONY: policy-venv
policy-venv: $(POLICY_VENV)/.installed

$(POLICY_VENV)/.installed: policy/requirements.txt
	@test -x $(POLICY_VENV)/bin/python || $(PYTHON) -m venv $(POLICY_VENV)
	@$(POLICY_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r policy/requirements.txt
	@touch $@

clean:
	rm -rf build .mypy_cache .ruff_cache .pytest_cache
