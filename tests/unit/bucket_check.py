#!/usr/bin/env python3
"""bucket_check.py BUCKET_DUMP [N] — the rollout bucket and the split recomputed with
hashlib, independently of OpenSSL and of the C code, for N subjects (default 100000):

  bucket = first 8 bytes of SHA-256(salt "/" subject), big-endian, mod 10000
  split  = first 8 bytes of SHA-256(salt "/split/" subject), big-endian, mod the weight
           sum (1:2:7 over a, b, c)
"""
import hashlib
import subprocess
import sys


def h64(text):
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "big")


def check(dump, salt, n):
    out = subprocess.run([dump, salt, str(n)], check=True, capture_output=True).stdout
    lines = out.split(b"\n")[:-1]
    if len(lines) != n:
        sys.exit(f"salt {salt!r}: {len(lines)} lines, want {n}")
    s = salt.encode()
    bad = 0
    for line in lines:
        subject, b, fb, variant = line.split(b"\t")
        want = h64(s + b"/" + subject) % 10000
        x = h64(s + b"/split/" + subject) % 10
        want_variant = b"a" if x < 1 else b"b" if x < 3 else b"c"
        if int(b) != want or int(fb) != want or variant != want_variant:
            bad += 1
            if bad <= 5:
                print(f"salt {salt!r} subject {subject!r}: sy_bucket {b.decode()}, flag {fb.decode()} "
                      f"{variant.decode()}; hashlib {want} {want_variant.decode()}")
    if bad:
        sys.exit(f"salt {salt!r}: {bad} of {n} subjects differ")
    print(f"salt {salt!r}: {n} subjects agree with hashlib")


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: bucket_check.py BUCKET_DUMP [N]")
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
    check(sys.argv[1], "audio-transcription/partial-results/config", n)
    check(sys.argv[1], "caf\u00e9", n // 10)


if __name__ == "__main__":
    main()
