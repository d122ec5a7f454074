# shellcheck shell=bash
# tests/interop/lib.sh -- independent S/MIME implementations to check our
# output: the openssl CLI and GnuPG's gpgsm, each in a throwaway setup.
#
#   gpgsm_setup DIR PKIDIR NAME...   GNUPGHOME in DIR (mode 0700) trusting
#                                    the test root, with the secret keys of
#                                    NAME... (their legacy p12 files)
#   gpgsm_verify_mime MSG            verify a signed MIME message (clear
#                                    or opaque); prints gpgsm's output
#   gpgsm_decrypt_mime MSG OUT       decrypt an enveloped MIME message
#   cms_der MSG OUT                  the CMS object of a MIME message, DER
#
# gpgsm 2.2 facts (tests/pki/README): it reads PKCS#12 only with 3DES/SHA1
# protection (the *.legacy.p12 files), has no RSA-OAEP and no AES-GCM for
# decryption, and cannot import EC private keys; callers skip those cases.

GPGSM_PASS=test

gpgsm_setup() {
	local dir=$1 pki=$2 fp name
	shift 2
	mkdir -p "$dir" && chmod 700 "$dir"
	export GNUPGHOME=$dir
	echo "disable-crl-checks" >"$dir/gpgsm.conf"
	echo "allow-loopback-pinentry" >"$dir/gpg-agent.conf"
	gpgsm --batch --import "$pki/ca/root.pem" "$pki/ca/intermediate.pem" \
	    >/dev/null 2>&1 || return 1
	fp=$(openssl x509 -in "$pki/ca/root.pem" -noout -fingerprint -sha1 |
	    sed 's/.*=//')
	echo "$fp S relax" >"$dir/trustlist.txt"
	for name in "$@"; do
		gpgsm_import_p12 "$pki/p12/$name.legacy.p12" || return 1
	done
}

# Import one PKCS#12 file.  The first import starts gpg-agent, and on a
# loaded machine gpgsm has been seen to give up on the agent before it
# answered (once in many runs): up to three tries, so that only a file
# gpgsm really cannot read fails the setup.
gpgsm_import_p12() {
	local try
	for try in 1 2 3; do
		echo "$GPGSM_PASS" | gpgsm --batch --pinentry-mode loopback \
		    --passphrase-fd 0 --import "$1" >"$GNUPGHOME/import.log" \
		    2>&1 && return 0
		sleep "$try"
	done
	cat "$GNUPGHOME/import.log" >&2
	return 1
}

# Stop the gpg-agent a setup started (it outlives gpgsm otherwise).
gpgsm_teardown() {
	[ -n "${GNUPGHOME:-}" ] && gpgconf --kill gpg-agent >/dev/null 2>&1
	return 0
}

cms_der() {
	openssl cms -cmsout -in "$1" -outform DER -out "$2" 2>/dev/null
}

gpgsm_verify_mime() {
	local msg=$1 tmp
	tmp=$(mktemp -d)
	cms_der "$msg" "$tmp/sig.der" || { rm -rf "$tmp"; return 1; }
	if grep -qi '^Content-Type: multipart/signed' "$msg"; then
		# The signed part, as openssl splits it (text mode, RFC 2046).
		openssl cms -verify -noverify -in "$msg" -out "$tmp/data" \
		    >/dev/null 2>&1 || { rm -rf "$tmp"; return 1; }
		gpgsm --batch --verify "$tmp/sig.der" "$tmp/data" 2>&1
	else
		gpgsm --batch --verify "$tmp/sig.der" 2>&1
	fi
	local rc=${PIPESTATUS[0]}
	rm -rf "$tmp"
	return "$rc"
}

gpgsm_decrypt_mime() {
	local msg=$1 out=$2 tmp rc
	tmp=$(mktemp)
	cms_der "$msg" "$tmp" || { rm -f "$tmp"; return 1; }
	echo "$GPGSM_PASS" | gpgsm --batch --pinentry-mode loopback \
	    --passphrase-fd 0 --decrypt "$tmp" >"$out" 2>/dev/null
	rc=$?
	rm -f "$tmp"
	return "$rc"
}
