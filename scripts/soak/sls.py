"""What the soak drivers say to a local sls-lite: WebTracking puts of numbered records and
fault rules through its admin endpoint. Only loopback addresses are used."""

import json
import urllib.request


class SlsLite:
    def __init__(self, addr, project, logstore):
        self.addr, self.project, self.logstore = addr, project, logstore
        self.fed = 0

    def request(self, method, path, body=None):
        req = urllib.request.Request(
            f"http://{self.addr}{path}", data=body, method=method,
            headers={"Host": f"{self.project}.{self.addr}", "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.read()

    def feed(self, n):
        """Puts records fed+1..=fed+n through WebTracking, 200 a request."""
        while n > 0:
            k = min(n, 200)
            logs = [{"id": str(self.fed + i + 1), "payload": f"記録{self.fed + i + 1}"} for i in range(k)]
            body = json.dumps({"__topic__": "soak", "__logs__": logs}).encode()
            self.request("POST", f"/logstores/{self.logstore}/track", body)
            self.fed += k
            n -= k

    def fault(self, rule):
        self.request("POST", "/_admin/faults", json.dumps(rule).encode())
