#!/usr/bin/env python3
"""Finds secret values anywhere in a tree of files, in every form they may
have been written in.

    secret_scan.py CANARIES.json [--exclude DIR]... ROOT...

CANARIES.json is a list of {"label": NAME, "value": TEXT, "core": TEXT}:
the secret as the process got it, and a random part of it ("core", at
least 16 characters) that survives any escaping (letters, digits, '-').
For each value the scan looks for:

  raw        the value itself
  url        percent-encoded (every byte but A-Z a-z 0-9 - . _ ~), and
  url-plus   the form with '+' for a space
  json       JSON string escaping (\\" \\\\ \\uXXXX), ASCII or not
  xml        &quot; &amp; &lt; &gt; &apos; (and &#34; &#39;), or in a text
             node only & < > (xml-text)
  base64     standard and URL-safe, at each of the three byte alignments
             (the value inside a longer encoded text, as in "user:secret"
             or a mail body), and
  hex        the bytes as hexadecimal
  core-1/2   either half of the core: a value that was cut short,
             re-escaped or decorated in a way not listed above still shows

Every regular file under each ROOT is read as bytes (symbolic links are not
followed; binary files are read too). A mail (*.eml) is also parsed and each
decoded part and header searched, since bodies travel base64- or
quoted-printable-encoded with line breaks inside the value. File names are
searched as well.

Prints one line per hit, "PATH:LINE: LABEL (FORM)", then a summary line
"scanned N files, M hits" on stderr. Exit 0 with no hit, 1 with hits, 2 on
a usage error.
"""
import base64
import email
import email.policy
import json
import os
import sys
import urllib.parse


def b64_inside(value, alphabet):
    """The characters of base64(x + value + y) that depend on value alone,
    for the three lengths of x modulo 3."""
    forms = []
    for pad in range(3):
        text = alphabet(b"\0" * pad + value).decode()
        start = -(-4 * pad // 3)  # ceil: the first character mixing in no pad bit
        end = 4 * (pad + len(value)) // 3  # the last character made of value bits only
        forms.append(("base64+%d" % pad if alphabet is base64.b64encode else "base64url+%d" % pad, text[start:end]))
    return forms


def xml_escape(text):
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&apos;"))


def forms_of(canary):
    value = canary["value"]
    raw = value.encode()
    core = canary["core"]
    if len(core) < 16 or core not in value:
        sys.exit("secret_scan.py: the core of %s must be a part of its value, at least 16 characters" % canary["label"])
    half = len(core) // 2
    forms = [
        ("raw", value),
        ("url", urllib.parse.quote(value, safe="")),
        ("url-plus", urllib.parse.quote_plus(value, safe="")),
        ("json", json.dumps(value)[1:-1]),
        ("json-unicode", json.dumps(value, ensure_ascii=False)[1:-1]),
        ("xml", xml_escape(value)),
        ("xml-text", value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")),
        ("xml-numeric", value.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&#34;").replace("'", "&#39;")),
        ("hex", raw.hex()),
        ("core-1", core[:half]),
        ("core-2", core[half:]),
    ]
    forms += b64_inside(raw, base64.b64encode) + b64_inside(raw, base64.urlsafe_b64encode)
    seen, unique = set(), []
    for name, text in forms:
        if text and text not in seen:
            seen.add(text)
            unique.append((canary["label"], name, text.encode()))
    return unique


def hits_in(data, needles):
    """(line, label, form) of every needle in data; a value found whole is not
    reported again for its core halves on the same line."""
    found = []
    for label, form, needle in needles:
        at = data.find(needle)
        while at >= 0:
            found.append((data.count(b"\n", 0, at) + 1, label, form))
            at = data.find(needle, at + 1)
    whole = {(line, label) for line, label, form in found if not form.startswith("core-")}
    return sorted({hit for hit in found if not (hit[2].startswith("core-") and (hit[0], hit[1]) in whole)})


def decoded_mail(data):
    """The decoded headers and parts of a mail, each as (where, bytes)."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    pieces = [("headers", "\n".join("%s: %s" % (k, v) for k, v in message.items()).encode())]
    for number, part in enumerate(message.walk()):
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True) or b""
        pieces.append(("part %d" % number, payload))
    return pieces


def scan(roots, excludes, needles):
    hits, files = [], 0
    excludes = [os.path.realpath(path) for path in excludes]
    for root in roots:
        for folder, dirs, names in os.walk(root):
            dirs[:] = sorted(d for d in dirs if os.path.realpath(os.path.join(folder, d)) not in excludes)
            for name in sorted(names) + dirs:
                path = os.path.join(folder, name)
                for line, label, form in hits_in(name.encode(), needles):
                    hits.append("%s: %s (%s in the file name)" % (path, label, form))
            for name in sorted(names):
                path = os.path.join(folder, name)
                if os.path.islink(path) or not os.path.isfile(path):
                    continue
                files += 1
                with open(path, "rb") as source:
                    data = source.read()
                for line, label, form in hits_in(data, needles):
                    hits.append("%s:%d: %s (%s)" % (path, line, label, form))
                if name.endswith(".eml"):
                    for where, text in decoded_mail(data):
                        for line, label, form in hits_in(text, needles):
                            hits.append("%s [decoded %s]:%d: %s (%s)" % (path, where, line, label, form))
    return files, hits


def main(argv):
    args, excludes, roots = argv[1:], [], []
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    canaries_file = args.pop(0)
    while args:
        arg = args.pop(0)
        if arg == "--exclude" and args:
            excludes.append(args.pop(0))
        else:
            roots.append(arg)
    if not roots:
        print("secret_scan.py: no folder to scan", file=sys.stderr)
        return 2
    with open(canaries_file, encoding="utf-8") as source:
        canaries = json.load(source)
    needles = [needle for canary in canaries for needle in forms_of(canary)]
    files, hits = scan(roots, excludes, needles)
    for hit in hits:
        print(hit)
    print("scanned %d files, %d hits" % (files, len(hits)), file=sys.stderr)
    return 1 if hits else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
