"""Faults on a real devnet: a lying worker, a killed worker, a cut WebSocket."""

from __future__ import annotations

import concurrent.futures
import signal
import socket
import threading
import time

import httpx

from peerhost.chain.anvil import free_port
from tests.e2e.conftest import Network


class CuttableProxy:
    """A loopback TCP proxy whose connections can be cut, and new ones refused, for a while."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._refuse_until = 0.0
        self._server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if time.monotonic() < self._refuse_until:
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass

    def cut(self, seconds: float) -> None:
        self._refuse_until = time.monotonic() + seconds
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            except OSError:
                pass

    def close(self) -> None:
        self._server.close()
        self.cut(0)


def stake(net: Network, address: str) -> int:
    return net.coordinator.functions.getWorker(address).call()[0]


def wait_active(net: Network, address: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not net.coordinator.functions.isActiveWorker(address).call():
        assert time.monotonic() < deadline, f"{address} did not become active"
        time.sleep(0.1)


def retire(net: Network, index: int) -> None:
    """Stops worker `index` and takes it out of the active set, so it is nobody's primary any more."""
    from peerhost.chain.keys import ANVIL_KEYS, account_from_key
    from peerhost.chain.tx import send_transaction

    proc = net.devnet.workers.pop(index, None)
    if proc is not None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    account = account_from_key(ANVIL_KEYS[2 + index])
    if net.coordinator.functions.isActiveWorker(account.address).call():
        data = net.coordinator.functions.beginUnbond()._encode_transaction_data()
        send_transaction(net.w3, account, {"to": net.coordinator.address, "data": data}, what="unbond")


def test_a_worker_whose_websocket_is_cut_catches_up(network: Network) -> None:
    devnet = network.devnet
    proxy = CuttableProxy(devnet.anvil.port)
    index = 4
    me = devnet.worker_account(index).address
    devnet.start_worker(index, ["--ws", f"ws://127.0.0.1:{proxy.port}"])
    try:
        wait_active(network, me)
        assert network.get("hello", name="warm").status_code == 200
        proxy.cut(1.5)  # drop the subscription and refuse reconnects for a while
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            responses = list(pool.map(lambda i: network.get("hello", name=f"cut{i}"), range(12)))
        assert all(r.status_code == 200 for r in responses)
        mine = [r for r in responses
                if network.coordinator.functions.primaryOf(int(r.headers["x-peerhost-request-id"])).call() == me]
        assert mine, "some requests made during the cut were this worker's to answer"
        # It answered them itself after reconnecting and back-filling: nobody had to take over.
        assert all(r.headers["x-peerhost-worker"] == me for r in mine), [r.headers["x-peerhost-worker"] for r in mine]
    finally:
        retire(network, index)
        proxy.close()


def test_a_lying_worker_is_outvoted_and_slashed(network: Network) -> None:
    devnet = network.devnet
    index = 3
    liar = devnet.worker_account(index).address
    devnet.start_worker(index, ["--lie", "--grace", "0.5"])
    try:
        wait_active(network, liar)
        before = stake(network, liar)
        slashed = False
        for attempt in range(8):
            r = network.get("quorum", a=str(attempt), b="1")
            assert r.status_code == 200, r.text
            assert r.json()["sum"] == attempt + 1, "callers only ever get the agreed result"
            request_id = int(r.headers["x-peerhost-request-id"])
            deadline = time.monotonic() + 40
            while network.coordinator.functions.getRequest(request_id).call()[5] == 1 and time.monotonic() < deadline:
                time.sleep(0.2)
            events = network.coordinator.events.Slashed().get_logs(from_block=0, argument_filters={"worker": liar})
            if events:
                slashed = True
                break
        assert slashed, "the liar took part in a quorum request and was slashed"
        assert stake(network, liar) < before
    finally:
        retire(network, index)


def test_a_worker_killed_with_50_calls_in_flight_loses_none(network: Network) -> None:
    devnet = network.devnet
    victim = devnet.workers[0]
    with concurrent.futures.ThreadPoolExecutor(50) as pool, httpx.Client(timeout=120) as client:
        futures = [pool.submit(client.get, network.url["hello"], params={"name": f"k{i}"}) for i in range(50)]
        time.sleep(0.3)
        victim.send_signal(signal.SIGKILL)
        responses = [f.result() for f in futures]
    victim.wait()
    assert [r.status_code for r in responses] == [200] * 50
    metrics = httpx.get(f"{devnet.gateway_url}/metrics").text
    batched = float(next(line.split()[-1] for line in metrics.splitlines()
                         if line.startswith("peerhost_gateway_batched_requests ")))  # fmt: skip
    assert batched > 0, "under a burst of 50 calls the gateway batched its requests"
    assert sorted(r.json()["message"] for r in responses) == sorted(f"hello k{i}" for i in range(50))
    # Its requests were taken over by the others; restarted, it resumes from its saved state.
    devnet.start_worker(0)
    assert network.get("hello", name="back").status_code == 200
