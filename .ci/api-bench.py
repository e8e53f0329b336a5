#!/usr/bin/env python3
"""Requests per second and latency percentiles of Account.List and Layer.List on a running node,
over gRPC (grpcio, types from reflection) and over the JSON gateway (http.client, one kept-alive
connection per client thread). The clients are Python: their own cost is part of the figures.

usage: api-bench.py PUBLIC_GRPC JSON_URL ADDRESS [SECONDS] [THREADS]
"""
import http.client
import json
import sys
import threading
import time
import urllib.parse

import grpc
from google.protobuf import descriptor_pool, json_format, message_factory
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

PKG = "spacemesh.v2alpha1."


def grpc_caller(target, service, method, fields):
    channel = grpc.insecure_channel(target)
    pool = descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(channel))
    m = pool.FindServiceByName(PKG + service).FindMethodByName(method)
    req = message_factory.GetMessageClass(m.input_type)
    resp = message_factory.GetMessageClass(m.output_type)
    request = json_format.ParseDict(fields, req())
    stub = channel.unary_unary(f"/{PKG}{service}/{method}",
                               request_serializer=req.SerializeToString,
                               response_deserializer=resp.FromString)
    return lambda: stub(request, timeout=10)


def json_caller(url, service, method, fields):
    u = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    body = json.dumps(fields).encode()
    path = f"/{PKG}{service}/{method}"

    def call():
        conn.request("POST", path, body, {"Content-Type": "application/json"})
        r = conn.getresponse()
        data = r.read()
        if r.status != 200:
            raise RuntimeError(f"{r.status} {data[:200]!r}")
    return call


def run(make, seconds, threads):
    latencies, errors = [], []
    stop = time.time() + seconds

    def worker():
        call, mine = make(), []
        try:
            while time.time() < stop:
                t = time.perf_counter()
                call()
                mine.append(time.perf_counter() - t)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))
        latencies.extend(mine)
    ts = [threading.Thread(target=worker) for _ in range(threads)]
    start = time.time()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    took = time.time() - start
    if errors:
        sys.exit(f"errors: {errors[:3]}")
    latencies.sort()
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000
    return len(latencies) / took, p(0.5), p(0.99)


def main():
    target, url, address = sys.argv[1:4]
    seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 5
    threads = int(sys.argv[5]) if len(sys.argv) > 5 else 8
    cases = [
        ("AccountService", "List", {"addresses": [address], "limit": 1}),
        ("LayerService", "List", {"startLayer": 0, "limit": 10}),
    ]
    print(f"{threads} client threads, {seconds} s each")
    for service, method, fields in cases:
        for name, caller, where in (("gRPC", grpc_caller, target), ("JSON", json_caller, url)):
            rps, p50, p99 = run(lambda: caller(where, service, method, fields), seconds, threads)
            print(f"{service}.{method:5} {name}: {rps:8.0f} req/s  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms")


if __name__ == "__main__":
    main()
