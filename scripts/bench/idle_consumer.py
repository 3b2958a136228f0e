"""The official Python consumer library (aliyun.log.consumer.ConsumerWorker, from PyPI) with
its default settings, holding the shards of an idle sls-lite logstore for --seconds: the
reference for the requests an idle shard costs. Run by scripts/bench/idle_requests.py with
HTTP_PROXY pointing at sls-lite (the library builds its own client from the endpoint). Only
loopback addresses are used."""

import argparse
import time

from aliyun.log.consumer import ConsumerProcessorBase, ConsumerWorker, CursorPosition, LogHubConfig


class Nothing(ConsumerProcessorBase):
    def process(self, log_groups, check_point_tracker):
        self.save_checkpoint(check_point_tracker)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint", required=True)
    p.add_argument("--project", required=True)
    p.add_argument("--logstore", required=True)
    p.add_argument("--seconds", type=float, required=True)
    a = p.parse_args()
    option = LogHubConfig(a.endpoint, "bench-key", "bench-secret", a.project, a.logstore,
                          "bench-py", "py-1", cursor_position=CursorPosition.END_CURSOR)
    worker = ConsumerWorker(Nothing, option)
    worker.start()
    time.sleep(a.seconds)
    worker.shutdown()
    worker.join(timeout=30)


if __name__ == "__main__":
    main()
