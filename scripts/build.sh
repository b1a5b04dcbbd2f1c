#!/usr/bin/env bash
# Builds every module and the distribution without running tests.
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -ntp -q -DskipTests install "$@"
echo "septum: built distribution/target/septum/bin/septum" >&2
