# Shared by the bench scripts (sourced): checks that stop a run early with what to install.

# need_tools TOOL...: each on PATH, or exit naming the first missing one.
need_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "missing $tool (scripts/bootstrap)"; exit 1; }
  done
}

# need_bin PATH: an executable eargate binary there, or exit.
need_bin() {
  [ -x "$1" ] || { echo "no eargate binary at $1 (build first)"; exit 1; }
}
