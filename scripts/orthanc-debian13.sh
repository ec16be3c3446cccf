#!/usr/bin/env bash
# Debian 13's Orthanc (1.12.7, with its GDCM and PostgreSQL plugins) on any Debian machine, for
# `make test-orthanc-1.12`: a minimal Debian 13 root made once by debootstrap from Debian's own
# packages, and a wrapper that runs its /usr/sbin/Orthanc chrooted there. The wrapper bind-mounts
# /tmp (where the tests keep their Orthanc folders) and this checkout (the benchmarks' folders) at
# the same paths, in a mount namespace of its own, so nothing stays mounted after Orthanc exits.
# Needs root (debootstrap, chroot, mount). Prints the wrapper's path: point ORTHANC_BINARY at it.
set -euo pipefail
cd "$(dirname "$0")/.."
checkout="$PWD"
root="${ORTHANC_DEBIAN13_ROOT:-/var/cache/orthanc-gallery/debian13}"
wrapper="$root.orthanc"

if [[ $EUID -ne 0 ]]; then
  echo "scripts/orthanc-debian13.sh needs root (debootstrap, chroot and bind mounts)" >&2
  exit 1
fi
if [[ ! -x "$root/usr/sbin/Orthanc" ]]; then
  command -v debootstrap >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap; }
  echo "Installing Debian 13 (trixie) with orthanc, orthanc-gdcm, orthanc-postgresql into $root" >&2
  rm -rf "$root.partial"
  mkdir -p "$(dirname "$root")"
  debootstrap --variant=minbase --include=orthanc,orthanc-gdcm,orthanc-postgresql trixie "$root.partial" >&2
  mv "$root.partial" "$root"
fi

cat > "$wrapper.new" <<WRAPPER
#!/usr/bin/env bash
# Orthanc from Debian 13, chrooted into $root (made by scripts/orthanc-debian13.sh).
# unshare without --fork and exec all the way: Orthanc keeps this script's PID, so signals reach it.
exec unshare --mount --propagation private -- bash -c '
  mkdir -p "$root$checkout"
  mount --bind /tmp "$root/tmp" && mount --bind "$checkout" "$root$checkout" && exec chroot "$root" /usr/sbin/Orthanc "\$@"
' orthanc "\$@"
WRAPPER
chmod +x "$wrapper.new"
mv "$wrapper.new" "$wrapper"
version="$("$wrapper" --version)"
echo "${version%%$'\n'*}" >&2
echo "$wrapper"
