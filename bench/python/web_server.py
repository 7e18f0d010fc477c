"""aiohttp.web serving the seed's /dice page size (277 bytes) on one process: the server-throughput peer.

Usage: web_server.py PORT [asyncio|uvloop]. Prints "ready" once it listens.
"""
import sys

from aiohttp import web

BODY = b"x" * 276 + b"\n"  # 277 bytes, the size of tandem's /dice


async def dice(_request):
    return web.Response(body=BODY, content_type="text/html")


async def on_startup(_app):
    print("ready", flush=True)


def main():
    port = int(sys.argv[1])
    if len(sys.argv) > 2 and sys.argv[2] == "uvloop":
        import uvloop
        uvloop.install()
    app = web.Application()
    app.router.add_get("/dice", dice)
    app.on_startup.append(on_startup)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


if __name__ == "__main__":
    main()
