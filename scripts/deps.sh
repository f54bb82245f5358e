#!/bin/sh
# Installs the Debian 12 packages tagshake needs and that are missing.
# Idempotent: does nothing when everything is present. Each component lists
# its packages in scripts/deps.d/<component>.list.
set -eu
here=$(dirname "$0")
wanted=$(grep -hv '^#' "$here"/deps.d/*.list | tr -s ' \n' '\n' | sort -u)
missing=""
for p in $wanted; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq || true
# shellcheck disable=SC2086
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing
