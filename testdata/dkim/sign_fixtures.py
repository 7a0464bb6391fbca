#!/usr/bin/env python3
"""Signs the DKIM fixtures under messages/ ONCE with the committed TEST-ONLY keys in keys/.

Reproducibility only: the tests never run this. Needs `pip install dkimpy pynacl` (PyPI) in a
throwaway virtualenv; nothing it installs is part of the project. The signing time is fixed
(T below) so t= is stable; the tests verify with now = T + 3600.

    python3 sign_fixtures.py      # from testdata/dkim/, rewrites messages/*.eml
"""
import base64
import subprocess
import time

import dkim

T = 1764547200  # 2025-12-01T00:00:00Z
time.time = lambda: T
D = b"fixtures.example"
RSA = open("keys/rsa2048.TEST-ONLY.key.pem", "rb").read()
# dkimpy wants the raw 32-byte Ed25519 seed, base64; it is the last 32 bytes of the PKCS#8 DER.
der = subprocess.run(["openssl", "pkey", "-in", "keys/ed25519.TEST-ONLY.key.pem", "-outform", "DER"],
                     check=True, capture_output=True).stdout
ED = base64.b64encode(der[-32:])

BASE = (b"From: Alice <alice@fixtures.example>\r\n"
        b"To: Bob <bob@example.net>\r\n"
        b"Subject:  A   test\r\n\tmessage\r\n"
        b"Date: Mon, 01 Dec 2025 00:00:00 +0000\r\n"
        b"Message-ID: <fixture@fixtures.example>\r\n"
        b"\r\n"
        b"Hello Bob,  \r\n\r\nthis  is\ta test.\r\n\r\n\r\n")
H = [b"from", b"to", b"subject", b"date", b"message-id"]

extra_tags = []
_gen = dkim.DKIM.gen_header
def gen_header(self, fields, *a, **k):
    for tag in extra_tags:  # e.g. x= (dkimpy has no option for it)
        fields.insert(len(fields) - 3, tag)
    return _gen(self, fields, *a, **k)
dkim.DKIM.gen_header = gen_header

def sign(msg, sel=b"rsa", key=RSA, alg=b"rsa-sha256", c=(b"relaxed", b"relaxed"), h=H, **kw):
    return dkim.sign(msg, sel, D, key, signature_algorithm=alg, canonicalize=c,
                     include_headers=h, **kw) + msg

def write(name, data):
    open(f"messages/{name}.eml", "wb").write(data)

write("relaxed-relaxed", sign(BASE))
write("simple-simple", sign(BASE, c=(b"simple", b"simple")))
write("relaxed-simple", sign(BASE, c=(b"relaxed", b"simple")))
write("ed25519", sign(BASE, sel=b"ed", key=ED, alg=b"ed25519-sha256"))
write("pkcs1-key", sign(BASE, sel=b"rsapkcs1"))
write("rsa-sha1", sign(BASE, alg=b"rsa-sha1"))
# l=: the signed body, then a paragraph appended in transit.
write("body-length", sign(BASE, length=True) + b"APPENDED: click here\r\n")
# Over-signing: From and Subject listed once more than present, Reply-To absent.
over = H + [b"from", b"subject", b"reply-to"]
write("oversigned", sign(BASE, h=over))
write("oversigned-added-subject",
      sign(BASE, h=over).replace(b"From: Alice", b"Subject: injected\r\nFrom: Alice", 1))
write("body-modified", sign(BASE).replace(b"a test.", b"a TEST."))
write("header-modified", sign(BASE).replace(b"Subject:  A   test", b"Subject:  A   tost"))
extra_tags[:] = [(b"x", str(T + 60).encode())]
write("expired", sign(BASE))
extra_tags[:] = []
write("revoked-key", sign(BASE, sel=b"revoked"))
write("strict-identity", sign(BASE, sel=b"strict", identity=b"alice@mail.fixtures.example"))
write("strict-identity-ok", sign(BASE, sel=b"strict", identity=b"alice@fixtures.example"))
