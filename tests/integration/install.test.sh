#!/bin/sh
# install.test.sh SOURCE_DIR BUILD_DIR: `make install` into a temporary DESTDIR puts every file
# where README/man page say, at the default PREFIX and at another one; the installed unit runs the
# installed binary with the configuration file the binary reads by default, carries the hardening
# keys, and passes `systemd-analyze verify` (and `security`) when systemd-analyze is there; the man
# page renders without a warning and names every command and option of `olsync`'s usage and
# every key of the configuration table.
set -u
src=${1:?source dir}
bin=${2:?build dir}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
fails=0

fail() {
	echo "install.test: FAIL: $*" >&2
	fails=$((fails + 1))
}

# What the binary itself says: its default configuration file and its commands.
"$bin/olsync" >"$tmp/usage" 2>&1
default_config=$(sed -n 's/^default configuration file: //p' "$tmp/usage")
[ -n "$default_config" ] || { echo "install.test: no default configuration file in the usage" >&2; exit 1; }
confdir=$(dirname "$default_config")

# 1. The default PREFIX (/usr/local), below DESTDIR.
root=$tmp/root
if ! make -s -C "$src" install BUILD="$bin" DESTDIR="$root" >"$tmp/install.log" 2>&1; then
	cat "$tmp/install.log" >&2
	echo "install.test: make install failed" >&2
	exit 1
fi
for f in /usr/local/bin/olsync /usr/local/share/man/man1/olsync.1 \
    /usr/local/lib/systemd/system/olsync.service /usr/local/lib/sysusers.d/olsync.conf \
    "$confdir/olsync.conf.example"; do
	[ -f "$root$f" ] || fail "$f not installed"
done
[ -x "$root/usr/local/bin/olsync" ] || fail "/usr/local/bin/olsync is not executable"
cmp -s "$bin/olsync" "$root/usr/local/bin/olsync" || fail "the installed olsync is not the built one"
cmp -s "$src/etc/olsync.conf.example" "$root$confdir/olsync.conf.example" ||
	fail "the installed example is not etc/olsync.conf.example"
unit=$root/usr/local/lib/systemd/system/olsync.service

# 2. The unit: the installed binary, the default configuration, hardened.
grep -qx "ExecStart=/usr/local/bin/olsync -c $default_config run" "$unit" ||
	fail "ExecStart is not '/usr/local/bin/olsync -c $default_config run'"
for kv in 'User=olsync' 'NoNewPrivileges=yes' 'ProtectSystem=strict' 'ProtectHome=yes' \
    'PrivateTmp=yes' 'PrivateDevices=yes' 'CapabilityBoundingSet=' 'StateDirectory=olsync' \
    'ReadWritePaths=/var/lib/olsync' 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' \
    'SystemCallFilter=@system-service' 'ExecReload=/bin/kill -HUP $MAINPID' \
    'Restart=on-failure'; do
	grep -qxF "$kv" "$unit" || fail "the unit lacks '$kv'"
done
# Only the state directory is writable, and the sysusers.d entry makes the unit's user.
[ "$(grep -c '^ReadWritePaths=' "$unit")" = 1 ] || fail "the unit has more than one ReadWritePaths"
grep -q '^u olsync ' "$root/usr/local/lib/sysusers.d/olsync.conf" ||
	fail "sysusers.d/olsync.conf does not create the user olsync"
grep -q '^database  *\/var\/lib\/olsync\/' "$root$confdir/olsync.conf.example" ||
	fail "the example's database is not in the unit's state directory /var/lib/olsync"

# 3. Another PREFIX: ExecStart follows it; the example stays where the binary looks.
if make -s -C "$src" install BUILD="$bin" PREFIX=/opt/olsync DESTDIR="$tmp/opt" \
    >"$tmp/install2.log" 2>&1; then
	grep -qx "ExecStart=/opt/olsync/bin/olsync -c $default_config run" \
	    "$tmp/opt/opt/olsync/lib/systemd/system/olsync.service" ||
		fail "with PREFIX=/opt/olsync ExecStart does not follow"
	[ -f "$tmp/opt$confdir/olsync.conf.example" ] ||
		fail "with PREFIX=/opt/olsync the example is not in $confdir"
else
	cat "$tmp/install2.log" >&2
	fail "make install PREFIX=/opt/olsync failed"
fi

# 4. systemd's own checks, on a copy installed without DESTDIR so ExecStart exists.
if command -v systemd-analyze >/dev/null 2>&1; then
	if make -s -C "$src" install BUILD="$bin" PREFIX="$tmp/prefix" >"$tmp/install3.log" 2>&1; then
		u3=$tmp/prefix/lib/systemd/system/olsync.service
		systemd-analyze verify --man=no "$u3" >"$tmp/verify" 2>&1 ||
			fail "systemd-analyze verify failed"
		if [ -s "$tmp/verify" ]; then
			cat "$tmp/verify" >&2
			fail "systemd-analyze verify printed the lines above"
		fi
		# The exposure score (0 best, 10 worst); skipped where --offline is not known.
		if systemd-analyze security --offline=yes "$u3" >"$tmp/security" 2>&1; then
			score=$(sed -n 's/.*Overall exposure level for olsync.service: \([0-9.]*\).*/\1/p' \
			    "$tmp/security")
			echo "install.test: systemd-analyze security: exposure ${score:-?}"
			awk -v s="${score:-99}" 'BEGIN { exit !(s <= 2.0) }' ||
				fail "exposure ${score:-?} is above 2.0"
		fi
	else
		cat "$tmp/install3.log" >&2
		fail "make install PREFIX=$tmp/prefix failed"
	fi
else
	echo "install.test: skipped systemd-analyze verify: systemd-analyze is not installed"
fi

# 5. The man page: no warning from groff or man, and every command and option of the usage.
page=$root/usr/local/share/man/man1/olsync.1
if command -v groff >/dev/null 2>&1; then
	out=$(groff -mdoc -ww -z "$page" 2>&1) || fail "groff failed on olsync.1"
	[ -z "$out" ] || fail "groff warns on olsync.1: $out"
else
	echo "install.test: skipped the groff check: groff is not installed"
fi
if command -v man >/dev/null 2>&1; then
	out=$(man --warnings -l "$page" 2>&1 >/dev/null) || fail "man failed on olsync.1"
	[ -z "$out" ] || fail "man warns on olsync.1: $out"
else
	echo "install.test: skipped the man check: man is not installed"
fi
grep -qF "$default_config" "$page" || fail "the man page does not name $default_config"
# Usage lines are "olsync [-c file] WORD ...": WORD is a command, or an option as in "-n".
words=$(sed -n 's/^\(usage:\)\{0,1\} *olsync \[-c file\] \([^ ]*\).*/\2/p' "$tmp/usage" | sort -u)
[ -n "$words" ] || fail "no command found in the usage"
for w in $words; do
	case $w in
	-*)	grep -q "^\.It Fl ${w#-}\( \|$\)" "$page" || fail "option $w is not in the man page" ;;
	*)	grep -q "^\.It Cm $w\( \|$\)" "$page" || fail "command $w has no entry in the man page" ;;
	esac
done
for opt in $(grep -o '\[-[a-z]' "$tmp/usage" | tr -d '[-' | sort -u); do
	grep -q "^\.It Fl $opt\( \|$\)" "$page" || fail "option -$opt has no entry in the man page"
done
# Every key of the configuration table (src/config.c) is named in the man page.
for k in $(sed -n 's/^	{ "\([a-z_]*\)", T_.*/\1/p' "$src/src/config.c"); do
	grep -Eq "^\.Ic (.* )?$k( ,| \.|$)" "$page" ||
		fail "configuration key $k is not in the man page's CONFIGURATION"
done
[ -n "$(sed -n 's/^	{ "\([a-z_]*\)", T_.*/\1/p' "$src/src/config.c")" ] ||
	fail "no configuration key found in src/config.c: the pattern no longer matches"

if [ "$fails" -gt 0 ]; then
	echo "install.test: $fails failure(s)" >&2
	exit 1
fi
echo "install.test: ok (usage words: $(printf "%s " $words | sed "s/ $//"))"
