#!/usr/bin/env python3
"""Reference mbox reader for `hearth bench connectors`: Python's standard
library only (`mailbox` splits the mbox, `email` with the modern policy
parses each message, the text/plain body is preferred, else the HTML one).

    python3 scripts/mbox_baseline.py FILE.mbox

Prints one JSON line: messages, failures, seconds, text characters and the
peak resident set size of the process in bytes.
"""

import email.policy
import json
import mailbox
import resource
import sys
import time


def main() -> None:
    path = sys.argv[1]
    started = time.perf_counter()
    box = mailbox.mbox(path, factory=None, create=False)
    messages = failures = chars = 0
    for key in box.iterkeys():
        try:
            raw = box.get_bytes(key)
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            body = msg.get_body(preferencelist=("plain", "html"))
            text = body.get_content() if body is not None else ""
            subject = str(msg.get("subject", ""))
            for part in msg.iter_attachments():
                if part.get_content_maintype() == "text":
                    text += part.get_content()
            chars += len(text) + len(subject)
            messages += 1
        except Exception:  # noqa: BLE001 - a reference reader counts, it does not stop
            failures += 1
    secs = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"messages": messages, "failures": failures, "secs": secs,
                      "chars": chars, "peak_rss_bytes": peak}))


if __name__ == "__main__":
    main()
