"""Raw Python baselines for `riffle bench python`, the best simple asyncio program for each link:

  python3 raw.py memory SIZE N         one event loop, a bounded asyncio.Queue of the memory channel's size
                                       between two tasks; prints the seconds taken
  python3 raw.py tcp-read              listens on 127.0.0.1:0, prints the address, reads length-prefixed frames
                                       256 KiB at a time and parses them in place to the end of the stream,
                                       prints how many arrived and the seconds from the first byte to the end
  python3 raw.py tcp-write ADDR SIZE N writes N frames of SIZE bytes packed into 1 MiB writes, ends the stream,
                                       waits for the reader to close (it has then read everything) and prints
                                       the seconds from connecting to that
"""

import asyncio
import struct
import sys
import time

QUEUE = 1024  # riffle_runner.inbox.CAPACITY
READ = 256 * 1024
WRITE = 1 << 20


async def memory(size: int, n: int) -> None:
    payload = bytes(size)
    queue: asyncio.Queue[bytes | None] = asyncio.Queue(QUEUE)

    async def write() -> None:
        put = queue.put
        for _ in range(n):
            await put(payload)
        await put(None)

    start = time.perf_counter()
    writer = asyncio.create_task(write())
    got = 0
    get = queue.get
    while await get() is not None:
        got += 1
    await writer
    if got != n:
        raise SystemExit(f"got {got} of {n}")
    print(f"{time.perf_counter() - start:.6f}")


async def tcp_read() -> None:
    done = asyncio.get_running_loop().create_future()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        got = 0
        first = 0.0
        buf = bytearray()
        start = 0
        while True:
            chunk = await reader.read(READ)
            if not chunk:
                break
            if not first:
                first = time.perf_counter()
            if start:
                del buf[:start]
                start = 0
            buf += chunk
            end = len(buf)
            while end - start >= 5:
                (length,) = struct.unpack_from(">I", buf, start)
                if end - start < 5 + length:
                    break
                start += 5 + length
                got += 1
        print(f"{got} {time.perf_counter() - first:.6f}", flush=True)
        writer.close()
        done.set_result(None)

    server = await asyncio.start_server(serve, "127.0.0.1", 0, limit=READ)
    print(f"127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    await done
    server.close()


async def tcp_write(addr: str, size: int, n: int) -> None:
    host, _, port = addr.rpartition(":")
    start = time.perf_counter()
    reader, writer = await asyncio.open_connection(host, int(port))
    head = struct.pack(">IB", size, 5)
    payload = bytes(size)
    batch = bytearray()
    # One frame at a time, as a producer makes them, into 1 MiB writes.
    for _ in range(n):
        batch += head
        batch += payload
        if len(batch) >= WRITE:
            writer.write(batch)
            await writer.drain()
            batch = bytearray()
    writer.write(batch)
    writer.write_eof()
    await writer.drain()
    await reader.read()
    print(f"{time.perf_counter() - start:.6f}", flush=True)
    writer.close()


def main(args: list[str]) -> None:
    if args[:1] == ["memory"] and len(args) == 3:
        asyncio.run(memory(int(args[1]), int(args[2])))
    elif args == ["tcp-read"]:
        asyncio.run(tcp_read())
    elif args[:1] == ["tcp-write"] and len(args) == 4:
        asyncio.run(tcp_write(args[1], int(args[2]), int(args[3])))
    else:
        print("usage: raw.py memory SIZE N | tcp-read | tcp-write ADDR SIZE N", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
