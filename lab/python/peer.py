"""peer.py: what tandem's lab needs from the seeds' programs, kept out of their way.

Each program prints what the seed prints, then, as its last line, one JSON object that
lab/python_peers.cpp reads:

    {"peer": "tandem-python/1", "program": "primes", "model": "processes", "workers": 2,
     "seconds": 1.23, ...the answer...}

`seconds` is the program's own perf_counter() interval around the work, as the seed times it
(interpreter start-up excluded). Integers that can pass 2**53 are written as strings: jq and
JavaScript read JSON numbers as doubles.
"""

import json
import os
import sys

PEER_SCHEMA = 'tandem-python/1'


def usage(text: str) -> None:
    print(f'usage: {os.path.basename(sys.argv[0])} {text}', file=sys.stderr)
    sys.exit(2)


def whole_number(text: str, what: str, usage_text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        usage(f'{usage_text}\n{what} must be a whole number >= 1, got {text!r}')
    return int(text)


def report_json(program: str, model: str, workers: int, seconds: float, **answer) -> None:
    line = {'peer': PEER_SCHEMA, 'program': program, 'model': model, 'workers': workers,
            'seconds': seconds}
    for key, value in answer.items():
        if isinstance(value, bool):
            line[key] = value
        elif isinstance(value, int):
            line[key] = str(value)
        elif isinstance(value, list):
            line[key] = [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value]
        else:
            line[key] = value
    sys.stdout.flush()
    print(json.dumps(line), flush=True)
