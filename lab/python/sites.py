"""sites.py: the downloaders' list of sites, from argv.

The seed downloads ["https://www.jython.org", "http://olympus.realpython.org/dice"] * 10; tandem's
lab points the same programs at its own server (tandem serve): SITES URLs taken from the given ones
in turn, as the seed's list repeats its two.
"""

from peer import usage, whole_number


def sites_from(args: list[str], usage_text: str) -> list[str]:
    if len(args) < 2:
        usage(usage_text)
    count = whole_number(args[0], 'SITES', usage_text)
    urls = args[1:]
    for url in urls:
        if not url.startswith(('http://', 'https://')):
            usage(f'{usage_text}\nURL must start with http:// or https://, got {url!r}')
    return [urls[i % len(urls)] for i in range(count)]


def workers_and_sites(args: list[str], usage_text: str) -> tuple[int, list[str]]:
    """WORKERS SITES URL [URL ...]: the pooled downloaders' arguments."""
    if not args:
        usage(usage_text)
    return whole_number(args[0], 'WORKERS', usage_text), sites_from(args[1:], usage_text)
