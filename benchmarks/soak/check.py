#!/usr/bin/python3
"""Content check of a soak round over NBD (python3-libnbd).

Reads regions given on stdin, one per line, "OFFSET:LENGTH:tag:TAG" or "OFFSET:LENGTH:zero":

- tag: every 4 KiB granule must contain TAG in its first 160 bytes. fio fills each block
  with verify_pattern = TAG followed by the block offset (period len(TAG) + 8 bytes) and puts
  its verify header in front, so any granule of a block written this round shows the tag,
  while a block left from an earlier round (its crc32c is still valid, fio's verify cannot
  tell) shows an older tag, and a lost block shows zeros.
- zero: every byte must be zero (a region fio trimmed completely).

Prints one line per region and a summary line; exit status 1 on any mismatch.
"""
import sys

import nbd

GRANULE = 4 << 10
CHUNK = 4 << 20
WINDOW = 160


def main():
    uri = sys.argv[1]
    h = nbd.NBD()
    h.connect_uri(uri)
    bad_total = 0
    checked = 0
    zero_chunk = bytes(CHUNK)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        parts = line.split(":")
        off, length, kind = int(parts[0]), int(parts[1]), parts[2]
        tag = parts[3].encode() if kind == "tag" else None
        bad = 0
        first_bad = None
        other_tags = {}
        pos = off
        while pos < off + length:
            n = min(CHUNK, off + length - pos)
            buf = h.pread(n, pos)
            if kind == "zero":
                if buf != zero_chunk[:n]:
                    for g in range(0, n, GRANULE):
                        if any(buf[g:g + GRANULE]):
                            bad += 1
                            if first_bad is None:
                                first_bad = pos + g
            else:
                for g in range(0, n, GRANULE):
                    w = buf[g:g + WINDOW]
                    if tag not in w:
                        bad += 1
                        if first_bad is None:
                            first_bad = pos + g
                        i = w.find(b"soakR")
                        seen = w[i:i + len(tag)].decode("ascii", "replace") if i >= 0 else (
                            "zeros" if not any(w) else "other")
                        other_tags[seen] = other_tags.get(seen, 0) + 1
            checked += n
            pos += n
        bad_total += bad
        detail = ""
        if bad:
            detail = f", first at byte {first_bad}"
            if other_tags:
                detail += ", found instead: " + ", ".join(f"{k} x{v}" for k, v in sorted(other_tags.items()))
        print(f"region {off}+{length} {kind}{' ' + tag.decode() if tag else ''}: "
              f"{bad} bad granule(s) of {length // GRANULE}{detail}", flush=True)
    h.shutdown()
    print(f"checked {checked / 1e9:.2f} GB: {bad_total} bad granule(s)")
    return 1 if bad_total else 0


if __name__ == "__main__":
    sys.exit(main())
