# The NBD client of the fault suite's NBD writer (io.torus.benchmarks.fault.NbdWriterMain).
# Speaks io.torus.fault.WriterMain's line protocol on stdin/stdout and builds the same
# self-identifying blocks as io.torus.fault.Payload, through libnbd.
# Usage: python3 nbd_writer.py URI VOLUME_ID BLOCK_SIZE WRITER_ID
import struct
import sys
import time
import zlib

import nbd

M = (1 << 64) - 1
MAGIC = 0x54464C54


def mix(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    return z ^ (z >> 31)


def encode(bs, vol, block, writer, op):
    head = struct.pack('>IqiiqI', MAGIC, vol, block, writer, op, 0)
    state = mix(mix(mix(vol & M) ^ block) ^ ((writer << 40) & M) ^ op)
    body = bytearray()
    for _ in range((bs - 32) // 8):
        state = (state + 0x9E3779B97F4A7C15) & M
        body += struct.pack('>Q', mix(state))
    crc = zlib.crc32(bytes(body), zlib.crc32(head[:28])) & 0xFFFFFFFF
    return head[:28] + struct.pack('>I', crc) + bytes(body)


def main():
    uri, vol, bs, writer = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    h = nbd.NBD()
    h.connect_uri(uri)
    for line in sys.stdin:
        f = line.split()
        if not f or f[0] == 'X':
            break
        op = int(f[1])
        start = time.monotonic_ns()
        try:
            if f[0] == 'W':
                block = int(f[2])
                flags = nbd.CMD_FLAG_FUA if f[3] == '1' else 0
                h.pwrite(encode(bs, vol, block, writer, op), block * bs, flags)
            else:
                h.flush()
            print('OK %d %d' % (op, start), flush=True)
        except Exception as e:  # nbd.Error and a dropped connection alike
            msg = str(e).replace('\n', ' ')[:200]
            print('FAIL %d %d NbdError: %s' % (op, start, msg), flush=True)


if __name__ == '__main__':
    main()
