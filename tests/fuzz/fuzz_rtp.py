"""atheris harness for every mediaopt.rtp parser (issue 13's style).

    python tests/fuzz/fuzz_rtp.py [corpus_dir] -max_total_time=60

Any bytes must give a value or ``InputError``; anything else (IndexError, struct.error,
OverflowError, a crash) is a finding. The first byte picks the parser.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from mediaopt.errors import InputError
    from mediaopt.rtp import (
        CongestionControlFeedback,
        FeedbackAdapter,
        TransportFeedback,
        partition_feedback,
        read_transport_seq,
        write_transport_seq,
    )

_ADAPTER = FeedbackAdapter()
for _s in range(64):
    _ADAPTER.on_sent(_s, _s * 1000, 1200, ssrc=1, rtp_seq=_s)


def one_input(data: bytes) -> None:
    if not data:
        return
    which, body = data[0] % 6, data[1:]
    try:
        if which == 0:
            fb = TransportFeedback.parse(body)
            assert TransportFeedback.parse(fb.to_bytes()) == fb
        elif which == 1:
            cc = CongestionControlFeedback.parse(body)
            assert CongestionControlFeedback.parse(cc.to_bytes()) == cc
        elif which == 2:
            partition_feedback(body)
        elif which == 3:
            read_transport_seq(body, 1 + (len(body) % 14))
        elif which == 4:
            out = write_transport_seq(body, 1 + (len(body) % 14), len(body) & 0xFFFF)
            assert read_transport_seq(out, 1 + (len(body) % 14)) == len(body) & 0xFFFF
        else:
            _ADAPTER.on_feedback(body, 10_000_000 + len(body))
    except InputError:
        pass


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
