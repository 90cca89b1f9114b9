#!/usr/bin/env bash
# The fast contract tests (pytest -m contract: the modAL compatibility
# layer, modAL's learners with every strategy, the scikit-activeml adapter,
# scikit-learn's estimator checks) on other scikit-learn / modAL releases.
#
# Each entry gets its own venv under $AALU_SK_MATRIX_DIR (default
# .venv-matrix/NAME), layered on the project's .venv: pip installs the
# entry's packages (with their dependencies, resolved on their own) into the
# empty venv first, and only then a .pth file appends .venv's site-packages
# to its path. So the entry's scikit-learn, modAL, numpy ... come first,
# while torch (several GB) and the rest are shared with .venv instead of
# being installed again. pip takes wheels from this machine's local indexes
# and its cache where it can; a venv whose entry did not change is reused.
#
# Usage: .ci/matrix.sh [NAME...]   (default: every entry)
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_PY=.venv/bin/python
DIR=${AALU_SK_MATRIX_DIR:-.venv-matrix}

# name | packages installed with their dependencies | packages --no-deps
ENTRIES=(
    "oldest|scikit-learn==1.6.1 modAL-python==0.4.1|"
    "newest|scikit-learn==1.9.1 modAL-python==0.4.1|"
    # 0.4.2.x pins skorch==0.9.0 and numpy==1.20.0: users install it
    # --no-deps beside the default set, and so do we.
    "modal042||modAL-python==0.4.2.1"
)

if [ ! -x "$BASE_PY" ]; then
    echo "matrix: $BASE_PY is missing; run 'make install' first" >&2
    exit 1
fi
base_site=$("$BASE_PY" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")

build() {  # build NAME WITH_DEPS NO_DEPS
    local name=$1 with_deps=$2 no_deps=$3 venv="$DIR/$1"
    local spec="$with_deps | $no_deps | $base_site"
    if [ -f "$venv/.spec" ] && [ "$(cat "$venv/.spec")" = "$spec" ]; then
        return
    fi
    rm -rf "$venv"
    # The same interpreter as .venv (a venv of a venv uses its base Python).
    "$BASE_PY" -m venv "$venv"
    local pip=("$venv/bin/python" -m pip install --quiet
               --disable-pip-version-check)
    # shellcheck disable=SC2086  (word splitting of the package lists)
    if [ -n "$with_deps" ]; then "${pip[@]}" $with_deps; fi
    if [ -n "$no_deps" ]; then "${pip[@]}" --no-deps $no_deps; fi
    local site
    site=$("$venv/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    # Appended after the venv's own site-packages; site.addsitedir also
    # reads .venv's .pth files (the editable install of aalu_sk).
    echo "import site; site.addsitedir('$base_site')" > "$site/zz_aalu_sk_base.pth"
    echo "$spec" > "$venv/.spec"
}

check_versions() {  # check_versions NAME PACKAGES...: what is imported is what was asked
    local venv="$DIR/$1"
    shift
    "$venv/bin/python" - "$@" <<'EOF'
import importlib.metadata as md
import sys

import modAL
import sklearn

for spec in sys.argv[1:]:
    name, version = spec.split("==")
    found = md.version(name)
    if found != version:
        sys.exit(f"matrix: {name} {found} is first on the path, not {version}")
print(f"scikit-learn {sklearn.__version__} ({sklearn.__file__.split('/site-packages')[0]}), "
      f"modAL-python {md.version('modAL-python')}, numpy {md.version('numpy')}, "
      f"pandas {md.version('pandas')}, skorch {md.version('skorch')}, "
      f"torch {md.version('torch')}, scikit-activeml {md.version('scikit-activeml')}")
EOF
}

selected=("$@")
status=0
for entry in "${ENTRIES[@]}"; do
    IFS='|' read -r name with_deps no_deps <<< "$entry"
    if [ ${#selected[@]} -gt 0 ] && [[ ! " ${selected[*]} " =~ " $name " ]]; then
        continue
    fi
    start=$SECONDS
    echo "== matrix $name: $with_deps $no_deps"
    build "$name" "$with_deps" "$no_deps"
    built=$((SECONDS - start))
    # shellcheck disable=SC2086
    check_versions "$name" $with_deps $no_deps
    # tests/ only: the contract tests live there (the docstring examples
    # that pytest also collects from aalu_sk/ carry no contract mark).
    if "$DIR/$name/bin/python" -m pytest -q -m contract -p no:cacheprovider tests; then
        result=passed
    else
        result=FAILED
        status=1
    fi
    echo "== matrix $name: $result (venv ${built}s, total $((SECONDS - start))s)"
done
exit $status
