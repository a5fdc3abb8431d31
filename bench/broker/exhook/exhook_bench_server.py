#!/usr/bin/env python3
"""make bench-broker on EMQX 4.4 (configuration `exhook_python`): the kit's reference
gRPC HookProvider (shared/emqx44/examples/exhook_server.py: grpcio, stubs generated
from emqx_exhook's own exhook.proto at start, a ThreadPoolExecutor of 8 workers),
adapted to make the decisions of native/bench_all_hooks and of the Rust server in
bench/exhook-server/:

  - it declares the 19 hooks emqx_exhook offers (the reference declares two);
  - every hook reads the client id; client.authenticate and client.check_acl allow a
    non-empty one (STOP_AND_RETURN, true) and abstain (IGNORE) otherwise (the reference
    continues on authenticate and ignores or denies on check_acl by username);
    message.publish abstains (IGNORE: the message goes on unchanged); the other hooks
    answer EmptySuccess;
  - it prints one line at start, nothing per call (the reference prints every call).

    python exhook_bench_server.py --proto DEST/lib/emqx_exhook-4.4.7/priv/protos/exhook.proto \
        [--host 127.0.0.1] [--port 9000]
"""
import argparse
import importlib
import os
import shutil
import signal
import sys
import tempfile
from concurrent import futures

HOOKS = [
    "client.connect", "client.connack", "client.connected", "client.disconnected",
    "client.authenticate", "client.check_acl", "client.subscribe", "client.unsubscribe",
    "session.created", "session.subscribed", "session.unsubscribed", "session.resumed",
    "session.discarded", "session.takeovered", "session.terminated",
    "message.publish", "message.delivered", "message.acked", "message.dropped",
]


def load_stubs(proto):
    """Generates exhook_pb2 / exhook_pb2_grpc from PROTO into a temp dir and imports them."""
    import grpc_tools
    from grpc_tools import protoc

    proto = os.path.abspath(proto)
    if not os.path.isfile(proto):
        sys.exit(f"exhook_bench_server: {proto}: no such file")
    out = tempfile.mkdtemp(prefix="exhook-stubs-")
    well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    rc = protoc.main(["protoc", f"-I{os.path.dirname(proto)}", f"-I{well_known}",
                      f"--python_out={out}", f"--grpc_python_out={out}", proto])
    if rc != 0:
        sys.exit(f"exhook_bench_server: protoc failed on {proto} (rc {rc})")
    sys.path.insert(0, out)
    name = os.path.splitext(os.path.basename(proto))[0]
    return importlib.import_module(f"{name}_pb2"), importlib.import_module(f"{name}_pb2_grpc"), out


def make_servicer(pb2, pb2_grpc):
    Valued = pb2.ValuedResponse
    empty = pb2.EmptySuccess
    allow = Valued(type=Valued.STOP_AND_RETURN, bool_result=True)
    abstain = Valued(type=Valued.IGNORE)

    def seen(info):
        return len(info.clientid)

    class BenchProvider(pb2_grpc.HookProviderServicer):
        def OnProviderLoaded(self, request, context):
            return pb2.LoadedResponse(hooks=[pb2.HookSpec(name=h) for h in HOOKS])

        def OnProviderUnloaded(self, request, context):
            return empty()

        def OnClientAuthenticate(self, request, context):
            return allow if seen(request.clientinfo) > 0 else abstain

        def OnClientCheckAcl(self, request, context):
            return allow if seen(request.clientinfo) > 0 else abstain

        def OnMessagePublish(self, request, context):
            len(getattr(request.message, "from"))
            return abstain

        def OnClientConnect(self, request, context):
            seen(request.conninfo)
            return empty()

        def OnClientConnack(self, request, context):
            seen(request.conninfo)
            return empty()

        def OnMessageDropped(self, request, context):
            len(getattr(request.message, "from"))
            return empty()

    def notification(request, context):
        seen(request.clientinfo)
        return empty()

    for m in ["OnClientConnected", "OnClientDisconnected", "OnClientSubscribe",
              "OnClientUnsubscribe", "OnSessionCreated", "OnSessionSubscribed",
              "OnSessionUnsubscribed", "OnSessionResumed", "OnSessionDiscarded",
              "OnSessionTakeovered", "OnSessionTerminated", "OnMessageDelivered",
              "OnMessageAcked"]:
        setattr(BenchProvider, m, lambda self, request, context: notification(request, context))
    return BenchProvider()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--proto", required=True, help="emqx_exhook's priv/protos/exhook.proto")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=9000)
    args = ap.parse_args()

    import grpc
    pb2, pb2_grpc, stubs = load_stubs(args.proto)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    pb2_grpc.add_HookProviderServicer_to_server(make_servicer(pb2, pb2_grpc), server)
    addr = f"{args.host}:{args.port}"
    if server.add_insecure_port(addr) == 0:
        sys.exit(f"exhook_bench_server: cannot listen on {addr}")

    def on_term(*_):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)
    server.start()
    print(f"exhook_bench_server: HookProvider on {addr}", flush=True)
    try:
        server.wait_for_termination()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop(1)
        shutil.rmtree(stubs, ignore_errors=True)


if __name__ == "__main__":
    main()
