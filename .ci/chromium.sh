# Sourced by .ci/run: installs Debian's Chromium for the labeling app's
# browser tests if it is missing, and exports PREFDATA_CHROMIUM. apt waits
# up to 5 minutes for the dpkg lock, so a package manager busy elsewhere on
# the machine (unattended upgrades, another install) delays the run instead
# of failing it.
if ! command -v chromium >/dev/null 2>&1; then
  echo "chromium: installing Debian's package"
  apt_opts=(-o DPkg::Lock::Timeout=300 -o Acquire::Retries=3)
  apt-get "${apt_opts[@]}" update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y -qq chromium >/dev/null
fi
export PREFDATA_CHROMIUM="$(command -v chromium)"
echo "chromium: $PREFDATA_CHROMIUM"
