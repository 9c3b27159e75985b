# Sourced by .ci/run: installs Debian's Chromium for the labeling app's
# browser test if it is missing, and exports PREFDATA_CHROMIUM.
if ! command -v chromium >/dev/null 2>&1; then
  echo "chromium: installing Debian's package"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
export PREFDATA_CHROMIUM="$(command -v chromium)"
echo "chromium: $PREFDATA_CHROMIUM"
