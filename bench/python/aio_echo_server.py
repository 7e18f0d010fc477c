"""The asyncio streams echo server (asyncio or uvloop), for bench_echo_client to load.

Usage: aio_echo_server.py asyncio|uvloop PORT. Prints "ready" once listening; runs until killed.
"""
import asyncio
import sys


async def handle(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def serve(port):
    server = await asyncio.start_server(handle, "127.0.0.1", port)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


def main():
    flavour, port = sys.argv[1], int(sys.argv[2])
    if flavour == "uvloop":
        import uvloop
        uvloop.install()
    asyncio.run(serve(port))


if __name__ == "__main__":
    main()
