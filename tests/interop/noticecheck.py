#!/usr/bin/env python3
"""noticecheck.py FILE [options] -- is FILE a well-formed notice?

An independent MIME implementation (Python's email package, the default
policy, which records defects) parses a missing-certificate notice made
by common/notice.c and checks it:

  every line ends in CRLF (--lf: in LF, for a dump from smtp-sink), none
  is longer than 998 octets, the header is ASCII, neither the message nor
  any header field has defects, the fields are exactly the expected ones,
  each once; Date parses; From and To are the given addresses; the
  Subject decodes to --subject; In-Reply-To is --in-reply-to (or absent
  when that is "-"); the body is text/plain UTF-8 and contains every
  --contains and no --absent text.

Exit 0 when all holds; otherwise print what does not and exit 1.
"""
import argparse
import email
import email.policy
import email.utils
import sys

FIELDS = ["date", "from", "to", "subject", "message-id", "auto-submitted",
          "mime-version", "content-type", "content-transfer-encoding"]


def check(args):
    with open(args.file, "rb") as f:
        raw = f.read()
    eol = b"\n" if args.lf else b"\r\n"
    if not raw.endswith(eol):
        return "does not end in a line break"
    lines = raw[:-len(eol)].split(eol)
    for i, line in enumerate(lines):
        if b"\r" in line or b"\n" in line:
            return "line %d: bare CR or LF" % (i + 1)
        if len(line) > 998:
            return "line %d: %d octets" % (i + 1, len(line))
    head = raw.split(eol + eol, 1)[0]
    if any(b > 126 or (b < 32 and b not in b"\r\n\t") for b in head):
        return "header is not printable ASCII"

    msg = email.message_from_bytes(raw, policy=email.policy.default)
    if msg.defects:
        return "message defects: %r" % msg.defects
    names = [k.lower() for k in msg.keys()]
    want = FIELDS + (["in-reply-to", "references"]
                     if args.in_reply_to != "-" else [])
    if sorted(names) != sorted(want):
        return "fields %r, want %r" % (names, want)
    for name in names:
        h = msg[name]
        if getattr(h, "defects", None):
            return "%s: defects %r" % (name, h.defects)
    email.utils.parsedate_to_datetime(msg["date"])
    if msg["from"].addresses[0].addr_spec != args.sender:
        return "From is %r" % str(msg["from"])
    if msg["to"].addresses[0].addr_spec != args.to:
        return "To is %r" % str(msg["to"])
    if str(msg["subject"]) != args.subject:
        return "Subject decodes to %r, want %r" % (str(msg["subject"]),
                                                   args.subject)
    if args.in_reply_to != "-":
        for name in ("in-reply-to", "references"):
            if str(msg[name]) != args.in_reply_to:
                return "%s is %r" % (name, str(msg[name]))
    if msg["auto-submitted"] != "auto-generated":
        return "Auto-Submitted is %r" % msg["auto-submitted"]
    if msg.get_content_type() != "text/plain" or \
            msg.get_content_charset() != "utf-8":
        return "content type %s" % msg["content-type"]
    body = msg.get_content()
    for text in args.contains:
        if text not in body:
            return "body lacks %r:\n%s" % (text, body)
    for text in args.absent:
        if text in body:
            return "body has %r" % text
    return None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("file")
    p.add_argument("--lf", action="store_true")
    p.add_argument("--from", dest="sender", required=True)
    p.add_argument("--to", required=True)
    p.add_argument("--subject", required=True)
    p.add_argument("--in-reply-to", default="-")
    p.add_argument("--contains", action="append", default=[])
    p.add_argument("--absent", action="append", default=[])
    args = p.parse_args()
    problem = check(args)
    if problem:
        print("noticecheck: %s: %s" % (args.file, problem))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
