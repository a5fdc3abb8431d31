"""make bench-broker: the bench's 19 hooks for the stock emqx_extension_hook, written
with the Python SDK (emqx-extension-sdk from PyPI): the same decisions as
native/bench_all_hooks and bench/broker/rust_hook_bench_erl.erl (read the client id;
authenticate and check_acl allow a non-empty one; the others abstain). emqx_extension_hook
4.2.13 attaches only the client.* and session.* hooks, so the message.* ones are
defined but never called."""

from emqx_extension import EmqxHookSdk, hooks_handler


def seen(info):
    return len(getattr(info, "clientid", "") or "")


class BenchHooks(EmqxHookSdk):
    @hooks_handler()
    def on_client_connect(self, conninfo, props, state):
        seen(conninfo)

    @hooks_handler()
    def on_client_connack(self, conninfo, rc, props, state):
        seen(conninfo)

    @hooks_handler()
    def on_client_connected(self, clientinfo, state):
        seen(clientinfo)

    @hooks_handler()
    def on_client_disconnected(self, clientinfo, reason, state):
        seen(clientinfo)

    @hooks_handler()
    def on_client_authenticate(self, clientinfo, authresult, state):
        return seen(clientinfo) > 0

    @hooks_handler()
    def on_client_check_acl(self, clientinfo, pubsub, topic, result, state):
        return seen(clientinfo) > 0

    @hooks_handler()
    def on_client_subscribe(self, clientinfo, props, topics, state):
        seen(clientinfo)

    @hooks_handler()
    def on_client_unsubscribe(self, clientinfo, props, topics, state):
        seen(clientinfo)

    @hooks_handler()
    def on_session_created(self, clientinfo, state):
        seen(clientinfo)

    @hooks_handler()
    def on_session_subscribed(self, clientinfo, topic, opts, state):
        seen(clientinfo)

    @hooks_handler()
    def on_session_unsubscribed(self, clientinfo, topic, state):
        seen(clientinfo)

    @hooks_handler()
    def on_session_resumed(self, clientinfo, state):
        seen(clientinfo)

    @hooks_handler()
    def on_session_discarded(self, clientinfo, state):
        seen(clientinfo)

    @hooks_handler()
    def on_session_takeovered(self, clientinfo, state):
        seen(clientinfo)

    @hooks_handler()
    def on_session_terminated(self, clientinfo, reason, state):
        seen(clientinfo)

    @hooks_handler()
    def on_message_publish(self, message, state):
        seen(message)

    @hooks_handler()
    def on_message_delivered(self, clientinfo, message, state):
        seen(clientinfo)

    @hooks_handler()
    def on_message_acked(self, clientinfo, message, state):
        seen(clientinfo)

    @hooks_handler()
    def on_message_dropped(self, message, reason, state):
        seen(message)


emqx_hook = BenchHooks(hook_module=f"{__name__}.emqx_hook")


def init():
    return emqx_hook.start()


def deinit():
    return
