#!/usr/bin/env bash
# Set up everything `make run` (setup.sh run), `make test` (setup.sh test) or the benchmarks
# (setup.sh bench: what the tests need, and wrk) need on Debian/Ubuntu: the Debian packages (Orthanc,
# its GDCM plugin; for tests Chromium, Redis and PostgreSQL), then the virtualenv: requirements.txt to run,
# requirements-dev.txt (which includes it) to test and benchmark.
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

purpose="${1:-run}"
packages=(orthanc orthanc-gdcm)
if [[ "$purpose" == "test" || "$purpose" == "bench" ]]; then
  # Redis, PostgreSQL and Orthanc's PostgreSQL plugin: the scale-out test (tests/integration/test_scaleout.py)
  packages+=(chromium redis-server postgresql orthanc-postgresql)
  # Node's npm: axe-core for the accessibility tests (tests/axe/, tests/browser/test_accessibility.py)
  command -v npm >/dev/null || packages+=(nodejs npm)
fi
if [[ "$purpose" == "bench" ]]; then
  # the HTTP load generator of the load test (bench/load.py)
  packages+=(wrk)
fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ! python3 -c "import venv, ensurepip" 2>/dev/null; then
  missing+=(python3-venv)
fi

if ((${#missing[@]})); then
  if [[ $EUID -eq 0 ]]; then
    sudo=()
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo=(sudo)
  else
    echo "These Debian packages are needed: ${missing[*]}" >&2
    echo "Install them as root, then run this command again:" >&2
    echo "    sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "Installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" apt-get install -y -q "${missing[@]}"
fi

# axe-core for the accessibility tests, reinstalled only when its lock file changes.
if [[ "$purpose" == "test" ]]; then
  axe_stamp="tests/axe/node_modules/.lock-$(sha256sum tests/axe/package-lock.json | cut -c1-16)"
  if [[ ! -f "$axe_stamp" ]]; then
    (cd tests/axe && npm ci --no-audit --no-fund --silent)
    touch "$axe_stamp"
  fi
fi

# The virtualenv, reinstalled only when its requirements change: `run` installs requirements.txt (what the
# gallery needs), `test` and `bench` install requirements-dev.txt (which includes requirements.txt, and adds
# the test and lint tools). The stamp hashes both files, so a change to either installs again; a `dev` stamp
# also satisfies `run` (a test venv has everything the gallery needs), a `run` stamp does not satisfy `test`.
hash=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-16)
if [[ "$purpose" == "test" || "$purpose" == "bench" ]]; then
  requirements=requirements-dev.txt stamps=(".venv/.requirements-dev-$hash")
else
  requirements=requirements.txt stamps=(".venv/.requirements-run-$hash" ".venv/.requirements-dev-$hash")
fi
installed=false
for stamp in "${stamps[@]}"; do [[ -f "$stamp" ]] && installed=true; done
if [[ "$installed" == false ]]; then
  [[ -x .venv/bin/python ]] || python3 -m venv .venv
  # (grep drops a warning some pip configurations print for every package)
  .venv/bin/python -m pip install --quiet --upgrade pip 2> >(grep -v "is ignored: it is neither" >&2)
  .venv/bin/python -m pip install --quiet -r "$requirements" 2> >(grep -v "is ignored: it is neither" >&2)
  rm -f .venv/.requirements-*
  touch "${stamps[0]}"
fi
