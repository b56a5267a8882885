#!/usr/bin/env bash
# Installs the Debian packages the real-server tests, the page tests and the benchmark need, when they are
# missing. Installs only as root; otherwise says exactly what to install and fails.
set -euo pipefail
need=()
command -v xandikos >/dev/null 2>&1 || need+=(xandikos)
command -v radicale >/dev/null 2>&1 || need+=(radicale)
# The multi-runner tests start a throwaway PostgreSQL cluster of their own (initdb, on loopback).
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
# The settings-page tests drive Debian's Chromium through playwright-core (never a downloaded browser);
# Liberation gives its screenshots real fonts.
if [ "${ALMANAC_NEED_CHROMIUM:-0}" = 1 ]; then
  [ -x /usr/bin/chromium ] || need+=(chromium fonts-liberation)
fi
if [ "${ALMANAC_NEED_VDIRSYNCER:-0}" = 1 ]; then
  command -v vdirsyncer >/dev/null 2>&1 || need+=(vdirsyncer)
fi
[ ${#need[@]} -eq 0 ] && exit 0
why="Xandikos and Radicale are the real CalDAV servers the tests sync against"
case " ${need[*]} " in *" postgresql "*) why="$why; PostgreSQL is the database several runners share in the multi-runner tests" ;; esac
case " ${need[*]} " in *" chromium "*) why="$why; Chromium drives the settings pages (about 350 MB with it)" ;; esac
case " ${need[*]} " in *" vdirsyncer "*) why="$why; vdirsyncer is the benchmark's baseline" ;; esac
if [ "$(id -u)" != 0 ]; then
  echo "almanac: the tests need these Debian packages: ${need[*]} ($why)" >&2
  echo "almanac: install them with: sudo apt-get install -y --no-install-recommends ${need[*]}" >&2
  exit 1
fi
echo "almanac: installing ${need[*]} from Debian first ($why)" >&2
if ! apt-get install -y --no-install-recommends "${need[@]}" >/dev/null 2>&1; then
  apt-get update >/dev/null
  apt-get install -y --no-install-recommends "${need[@]}" >/dev/null
fi
