#!/usr/bin/env python3
"""Queries a running node's API with clients this project did not write: grpcio with server
reflection (the message types come from the node's reflection answers, not from our .proto
files) over gRPC, and urllib over the JSON gateway. Exits non-zero on the first mismatch.

usage: api-client-test.py PUBLIC_GRPC PRIVATE_GRPC JSON_URL [ADDRESS]
"""
import base64
import datetime
import json
import sys
import time
import urllib.error
import urllib.request

import grpc
from google.protobuf import descriptor_pool, json_format, message_factory
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

PKG = "spacemesh.v2alpha1."
PUBLIC = {PKG + s for s in ("NetworkService", "NodeService", "AccountService", "LayerService",
                            "TransactionService", "RewardService", "ActivationService",
                            "MalfeasanceService")}
PRIVATE = {PKG + s for s in ("LayerStreamService", "RewardStreamService", "ActivationStreamService",
                             "MalfeasanceStreamService", "TransactionStreamService")} | {
    "spacemesh.v1.SmesherService", "spacemesh.v1.AdminService"}


class Reflected:
    """A node's gRPC listener, its services and message types discovered by reflection."""

    def __init__(self, target):
        self.channel = grpc.insecure_channel(target)
        grpc.channel_ready_future(self.channel).result(timeout=10)
        self.db = ProtoReflectionDescriptorDatabase(self.channel)
        self.pool = descriptor_pool.DescriptorPool(self.db)

    def services(self):
        return set(self.db.get_services())

    def method(self, service, name):
        m = self.pool.FindServiceByName(service).FindMethodByName(name)
        return m, message_factory.GetMessageClass(m.input_type), \
            message_factory.GetMessageClass(m.output_type)

    def call(self, service, name, fields):
        m, req, resp = self.method(service, name)
        request = json_format.ParseDict(fields, req())
        path = f"/{service}/{name}"
        if m.server_streaming:
            stub = self.channel.unary_stream(path, request_serializer=req.SerializeToString,
                                             response_deserializer=resp.FromString)
            return [json_format.MessageToDict(r) for r in stub(request, timeout=10)]
        stub = self.channel.unary_unary(path, request_serializer=req.SerializeToString,
                                        response_deserializer=resp.FromString)
        return json_format.MessageToDict(stub(request, timeout=10))


def post(url, path, body):
    """POSTs `body` (bytes) and returns (HTTP status, JSON answer)."""
    req = urllib.request.Request(url + path, data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def grpc_web(url, reflected, service, name, fields):
    """Calls service/name over grpc-web (binary) with a request built from `fields` through
    `reflected`'s descriptors; returns the answers as dicts and the trailer's headers."""
    _, req, resp = reflected.method(service, name)
    message = json_format.ParseDict(fields, req()).SerializeToString()
    frame = b"\x00" + len(message).to_bytes(4, "big") + message
    web = urllib.request.Request(url + f"/{service}/{name}", data=frame, method="POST",
                                 headers={"Content-Type": "application/grpc-web+proto",
                                          "Accept": "application/grpc-web+proto",
                                          "X-Grpc-Web": "1"})
    with urllib.request.urlopen(web, timeout=10) as r:
        body = r.read()
    answers, trailer = [], {}
    while body:
        n = int.from_bytes(body[1:5], "big")
        flag, payload, body = body[0], body[5:5 + n], body[5 + n:]
        if flag & 0x80:
            trailer = {k.strip().lower(): v.strip() for k, v in
                       (line.split(":", 1) for line in payload.decode().split("\r\n") if ":" in line)}
        else:
            answers.append(json_format.MessageToDict(resp.FromString(payload)))
    return answers, trailer


def check(cond, what):
    if not cond:
        sys.exit(f"FAILED: {what}")
    print("ok:", what)


def main():
    public_addr, private_addr, url = sys.argv[1:4]
    address = sys.argv[4] if len(sys.argv) > 4 else None
    public, private = Reflected(public_addr), Reflected(private_addr)

    found = public.services()
    check(PUBLIC <= found, f"public reflection lists the unary services ({sorted(found)})")
    check(not any("Stream" in s for s in found), "public reflection lists no stream service")
    private_found = private.services()
    check(PRIVATE <= private_found, f"private reflection lists the streams and the smesher ({sorted(private_found)})")
    check(not (PUBLIC & private_found), "private reflection lists no public service")

    info = public.call(PKG + "NetworkService", "Info", {})
    check(info["hrp"] and len(base64.b64decode(info["genesisId"])) == 20,
          f"Network.Info over gRPC: hrp {info['hrp']}, layers per epoch {info.get('layersPerEpoch')}")
    # Wait for the network to apply a few layers.
    deadline = time.time() + 120
    while True:
        status = public.call(PKG + "NodeService", "Status", {})
        if int(status.get("appliedLayer", 0)) >= 3 or time.time() > deadline:
            break
        time.sleep(1)
    check(int(status.get("appliedLayer", 0)) >= 3
          and int(status.get("latestLayer", 0)) >= int(status.get("processedLayer", 0)) >= 1,
          f"Node.Status over gRPC: {status}")
    layers = public.call(PKG + "LayerService", "List", {"startLayer": 0, "limit": 100})["layers"]
    numbers = [l["number"] for l in layers]
    check(numbers and numbers == sorted(numbers) and all(
        len(base64.b64decode(l["cumulativeStateHash"])) == 32 for l in layers),
        f"Layer.List over gRPC: layers {numbers[0]}..{numbers[-1]} with state hashes")
    streamed = private.call(PKG + "LayerStreamService", "Stream",
                            {"startLayer": numbers[0], "endLayer": numbers[-1]})
    check([l["number"] for l in streamed] == numbers, "LayerStream.Stream on the private listener")
    rewards = private.call(PKG + "RewardStreamService", "Stream",
                           {"startLayer": numbers[0], "endLayer": numbers[-1]})
    listed = public.call(PKG + "RewardService", "List",
                         {"startLayer": numbers[0], "endLayer": numbers[-1], "limit": 100})
    check(rewards == listed.get("rewards", []),
          f"RewardStream.Stream without watch sends the history ({len(rewards)} rewards, as Reward.List)")
    peers = private.call("spacemesh.v1.AdminService", "PeerInfoStream", {})
    check(peers and all(len(p["id"]) == 64 for p in peers),
          f"AdminService.PeerInfoStream lists the devnet peers ({len(peers)})")
    smeshing = private.call("spacemesh.v1.SmesherService", "IsSmeshing", {})
    check(smeshing.get("isSmeshing") is True, f"SmesherService.IsSmeshing on the private listener: {smeshing}")
    try:
        public.channel.unary_unary("/spacemesh.v1.SmesherService/IsSmeshing")(b"", timeout=5)
        check(False, "the smesher service must not answer on the public listener")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.UNIMPLEMENTED, f"no smesher service on the public listener ({e.code()})")
    try:
        public.channel.unary_stream(f"/{PKG}LayerStreamService/Stream")(b"", timeout=5).next()
        check(False, "the layer stream must not answer on the public listener")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.UNIMPLEMENTED, f"no layer stream on the public listener ({e.code()})")
    try:
        public.call(PKG + "TransactionService", "ParseTransaction",
                    {"transaction": base64.b64encode(b"\x00\x01\x02").decode(), "verify": True})
        check(False, "ParseTransaction must refuse three bytes")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.INVALID_ARGUMENT,
              f"ParseTransaction of garbage over gRPC: {e.code()} {e.details()}")
    if address:
        accounts = public.call(PKG + "AccountService", "List", {"addresses": [address], "limit": "1"})
        check(accounts["accounts"][0]["address"] == address,
              f"Account.List over gRPC: {accounts['accounts'][0]}")

    # The same over JSON, compared with the gRPC answers.
    code, jinfo = post(url, f"/{PKG}NetworkService/Info", b"{}")
    # Timestamps: the gateway writes a `+00:00` offset where protobuf's Python writes `Z`.
    when = lambda d: datetime.datetime.fromisoformat(d.pop("genesisTime").replace("Z", "+00:00"))
    check(code == 200 and when(jinfo) == when(info) and jinfo == info,
          "Network.Info over JSON equals the gRPC answer")
    code, jlayers = post(url, f"/{PKG}LayerService/List",
                         json.dumps({"startLayer": numbers[0], "endLayer": numbers[-1], "limit": 100}).encode())
    check(code == 200 and jlayers["layers"] == layers, "Layer.List over JSON equals the gRPC answer")

    def both(service, method, fields):
        """The gRPC and JSON answers to one request, asked again (up to 3 times) while they
        differ: the node may apply a layer or take an ATX between the two."""
        for _ in range(3):
            g = public.call(PKG + service, method, fields)
            code, j = post(url, f"/{PKG}{service}/{method}", json.dumps(fields).encode())
            check(code == 200, f"{service}.{method} over JSON answers 200 ({code} {j})")
            if g == j:
                break
            time.sleep(0.5)
        check(g == j, f"{service}.{method} over JSON equals the gRPC answer ({fields})")
        return g

    # The dashboard's call: no filter, newest first.
    rewards = both("RewardService", "List", {"startLayer": numbers[0], "endLayer": numbers[-1],
                                              "limit": "12", "sortOrder": "DESC"}).get("rewards", [])
    rlayers = [r["layer"] for r in rewards]
    check(rlayers == sorted(rlayers, reverse=True) and all(
        int(r["total"]) >= int(r.get("layerReward", "0")) and r["coinbase"] for r in rewards),
        f"Reward.List: {len(rewards)} rewards in layers {numbers[0]}..{numbers[-1]}")
    if address:
        mine = both("RewardService", "List", {"startLayer": numbers[0], "coinbase": address,
                                               "limit": "100"}).get("rewards", [])
        check(all(r["coinbase"] == address for r in mine),
              f"Reward.List by coinbase: {len(mine)} rewards of {address}")
    count = both("ActivationService", "ActivationsCount", {}).get("count", 0)
    atxs = both("ActivationService", "List", {"startEpoch": 0, "limit": "100"}).get("activations", [])
    check(len(atxs) == min(count, 100) and all(len(base64.b64decode(a["id"])) == 32 for a in atxs),
          f"Activation.List: {len(atxs)} of {count} ATXs, weight {sum(int(a['weight']) for a in atxs)}")
    if atxs:
        epoch = atxs[-1].get("publishEpoch", 0)
        one = both("ActivationService", "List", {"startEpoch": epoch, "endEpoch": epoch, "offset": "0",
                                                 "limit": "100"}).get("activations", [])
        check(one and all(a.get("publishEpoch", 0) == epoch for a in one),
              f"Activation.List of epoch {epoch}: {len(one)} ATXs")
        highest = both("ActivationService", "Highest", {})["activation"]
        check(int(highest["height"]) >= max(int(a.get("height", "0")) for a in atxs),
              f"Activation.Highest: height {highest['height']}")
    proofs = both("MalfeasanceService", "List", {"limit": "100"}).get("proofs", [])
    check(all(p.get("domain", "DOMAIN_UNSPECIFIED") != "DOMAIN_UNSPECIFIED" for p in proofs),
          f"Malfeasance.List: {len(proofs)} proofs")
    code, jstatus = post(url, f"/{PKG}NodeService/Status", b"")
    check(code == 200 and "currentLayer" in jstatus, f"Node.Status over JSON: {jstatus}")
    if address:
        code, jaccounts = post(url, f"/{PKG}AccountService/List",
                               json.dumps({"addresses": [address], "limit": 1}).encode())
        balance = jaccounts["accounts"][0]["current"].get("balance", "0")
        check(code == 200 and isinstance(balance, str), f"Account.List over JSON (balance {balance} as a string)")
    for path, body, http, what in [
        (f"/{PKG}AccountService/List", b"{not json", 400, "malformed JSON"),
        (f"/{PKG}AccountService/List", b'{"addresses": 5}', 400, "a wrong type"),
        (f"/{PKG}TransactionService/ParseTransaction", b'{"transaction": "AAEC"}', 400,
         "an unparseable transaction"),
        (f"/{PKG}NoService/List", b"{}", 404, "an unknown method"),
        (f"/{PKG}LayerStreamService/Stream", b"{}", 404, "a private service"),
        (f"/{PKG}NodeService/Status", b" " * 100_000, 413, "an oversized body"),
    ]:
        code, err = post(url, path, body)
        check(code == http and isinstance(err.get("code"), int) and err.get("message")
              and err.get("details") == [], f"{what} over JSON: {code} {err}")
    txs = both("TransactionService", "List", {"limit": "100", "includeState": True,
                                               "includeResult": True}).get("transactions", [])
    check(all(t["tx"]["id"] and t.get("txState", "").startswith("TRANSACTION_STATE_") for t in txs),
          f"Transaction.List: {len(txs)} transactions with their state")

    # grpc-web on the JSON listener, hand-built frames of the reflected request types: a unary
    # call and a server stream (the layer stream, same layers as over gRPC).
    answer, trailer = grpc_web(url, public, PKG + "NetworkService", "Info", {})
    check(trailer.get("grpc-status") == "0" and answer[0].get("hrp") == info["hrp"],
          f"Network.Info over grpc-web: hrp {answer[0].get('hrp')}, trailer {trailer}")
    web_layers, trailer = grpc_web(url, private, PKG + "LayerStreamService", "Stream",
                                   {"startLayer": numbers[0], "endLayer": numbers[-1]})
    check(trailer.get("grpc-status") == "0" and [l["number"] for l in web_layers] == numbers,
          f"LayerStream.Stream over grpc-web: {len(web_layers)} layers, trailer {trailer}")
    print("api-client-test: all checks passed")


if __name__ == "__main__":
    main()
