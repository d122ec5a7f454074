#!/usr/bin/env python3
"""mimecmp.py RECOVERED TYPE=FILE... -- is the content what was sent?

An independent MIME implementation (Python's email package) checks what
the gateway recovered after decryption and verification: the leaf parts
of RECOVERED must be, in order, of the given media types, and decode to
exactly the bytes of the given files (text parts compared with line ends
folded to LF, since canonicalisation makes them CRLF).  Transfer
encodings may differ from the original: re-encoding 8bit and binary
parts is the gateway's job.  Exit 0 when equal; otherwise print the
first difference and exit 1.
"""
import email
import email.policy
import sys


def leaves(msg):
    out = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True) or b""
        out.append((part.get_content_type(), payload))
    return out


def main():
    with open(sys.argv[1], "rb") as f:
        got = leaves(email.message_from_binary_file(
            f, policy=email.policy.compat32))
    want = []
    for spec in sys.argv[2:]:
        ctype, path = spec.split("=", 1)
        with open(path, "rb") as f:
            want.append((ctype, f.read()))
    if len(got) != len(want):
        print("%d parts, want %d" % (len(got), len(want)))
        return 1
    for i, ((tg, pg), (tw, pw)) in enumerate(zip(got, want)):
        if tg != tw:
            print("part %d: type %s, want %s" % (i, tg, tw))
            return 1
        if tw.startswith("text/"):
            pg, pw = pg.replace(b"\r\n", b"\n"), pw.replace(b"\r\n", b"\n")
        if pg != pw:
            print("part %d (%s): %d bytes differ from the %d sent" %
                  (i, tw, len(pg), len(pw)))
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
